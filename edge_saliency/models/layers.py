"""Small building blocks of EML-Net, and the ONE resize function every upsample in the model goes through.

Routing all resizing through :func:`resize` / :func:`resize_concat` lets the exporter swap in another
implementation (e.g. a node that TensorRT maps to our CUDA plugin) with :func:`resize_override`, without
touching the model code.
"""
import contextlib
from typing import Callable, Iterator, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

ResizeFn = Callable[[torch.Tensor, Sequence[int], str, bool], torch.Tensor]
_override: Optional[ResizeFn] = None


def resize(x: torch.Tensor, size: Sequence[int], mode: str, align_corners: bool = False) -> torch.Tensor:
    """Resize an NCHW tensor to ``size`` = (H, W); ``mode`` is "bilinear" or "nearest".

    A map that already has the size is returned as is (both modes are the identity then).
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if _override is not None:
        return _override(x, size, mode, align_corners)
    if mode == "nearest":  # F.interpolate's default, as in the official code
        return F.interpolate(x, size=size, mode="nearest")
    return F.interpolate(x, size=size, mode="bilinear", align_corners=align_corners)


def resize_concat(
    maps: Sequence[torch.Tensor], size: Sequence[int], mode: str, align_corners: bool = False
) -> torch.Tensor:
    """Resize every map to ``size`` and concatenate along channels (the decoder's resize-and-concatenate)."""
    return torch.cat([resize(m, size, mode, align_corners) for m in maps], dim=1)


@contextlib.contextmanager
def resize_override(fn: Optional[ResizeFn]) -> Iterator[None]:
    """Within the block, :func:`resize` calls ``fn(x, size, mode, align_corners)`` for every real resize."""
    global _override
    previous, _override = _override, fn
    try:
        yield
    finally:
        _override = previous


def conv_bn_act(in_channels: int, out_channels: int, kernel_size: int, activation: str) -> nn.Sequential:
    """Conv k×k (with bias, 'same' padding) + BatchNorm + ReLU/Sigmoid, indexed 0/1/2 like the official
    ``nn.Sequential`` readouts, so official checkpoints map key for key."""
    act: nn.Module = nn.ReLU(inplace=True) if activation == "relu" else nn.Sigmoid()
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=True),
        nn.BatchNorm2d(out_channels),
        act,
    )


class Normalize(nn.Module):
    """(x - mean) / std per channel, baked into the graph so every model takes RGB in [0, 1]."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: Tuple[float, float, float], std: Tuple[float, float, float]) -> None:
        super().__init__()
        # not persistent: derived from the config, and absent from official checkpoints
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

