"""Parameter counts and multiply-accumulates, computed on the 'meta' device (no memory, no weights)."""
from typing import Optional, Tuple

import torch
from torch import nn

from ..config import ModelConfig, check_input_size
from .emlnet import EMLNet


def count_parameters(model: nn.Module) -> int:
    """The number of parameters of a model."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_size: Tuple[int, int]) -> int:
    """Multiply-accumulates of one forward pass at batch 1 (convolutions and matmuls, as FLOPs / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    device = next(model.parameters()).device
    x = torch.zeros(1, 3, *input_size, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() // 2


def model_complexity(config: ModelConfig, input_size: Optional[Tuple[int, int]] = None) -> Tuple[int, int]:
    """(parameters used by the forward pass, MACs) of ``config`` at ``input_size`` (default: its own).

    Stage-1 heads that a fused model keeps but does not run are not counted.
    """
    size = check_input_size(input_size or config.input_size)
    with torch.device("meta"):
        model = EMLNet(config).eval()
    params = count_parameters(model)
    if model.decoder is not None:
        params -= sum(count_parameters(enc.head) for enc in model.encoders.values())
    return params, count_macs(model, size)
