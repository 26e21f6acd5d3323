"""The pieces of one training run below the loop: the model to train, the files of a split, the forward of a stage, one
optimisation step and the validation scores of one map."""
import dataclasses
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from ..config import ModelConfig, check_input_size
from ..data.datasets import SampleFiles, find_samples
from ..errors import UserError
from ..maths import metrics as M
from ..models import load_model, resolve_config
from ..models.emlnet import EMLNet
from . import checkpoint as ckpt
from . import distributed as D
from .config import TrainConfig
from .loss import EMLLoss
from .stages import assemble_fused_model, build_stage1_model, freeze_encoders, stage1_config


def training_model_config(config: TrainConfig) -> Tuple[ModelConfig, Tuple[int, int]]:
    full = resolve_config(config.model)
    size = check_input_size(config.input_size or full.input_size)
    full = dataclasses.replace(full, input_size=size)
    return (stage1_config(full, config.encoder) if config.stage == 1 else full), size


def build_training_model(config: TrainConfig, model_config: ModelConfig, resume: bool) -> EMLNet:
    if resume:
        model = load_model(os.path.join(config.output, ckpt.LAST))
        if model.config.to_dict() != model_config.to_dict():
            raise UserError("cannot resume: the model in {} is not the one this run trains".format(config.output))
    elif config.stage == 1:
        model = build_stage1_model(model_config, model_config.encoders[0].key, config.pretrained,
                                   config.backbone_weights)
    else:
        model = assemble_fused_model(model_config, config.stage1)
    if config.stage == 2:
        freeze_encoders(model)
    return model


def split_files(config: TrainConfig, split: str, limit: Optional[int] = None) -> List[SampleFiles]:
    files = find_samples(config.data, config.layout, split, need=("map", "fixations"))
    return files[:limit] if limit else files


class StageForward:
    """The prediction of one batch in a stage: the stage-1 model, or frozen encoders (no autograd) + the
    decoder. ``trained`` is the module the optimizer updates, wrapped in DistributedDataParallel when the
    run has several processes."""

    def __init__(self, model: EMLNet, stage: int, info: Optional[D.DistInfo] = None) -> None:
        self.model, self.stage = model, stage
        trained: torch.nn.Module = model if stage == 1 else model.decoder  # type: ignore[assignment]
        if info is not None and info.distributed:
            device_ids = [info.device] if info.device.type == "cuda" else None
            trained = DistributedDataParallel(trained, device_ids=device_ids)
        self.trained = trained

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.stage == 1:
            return self.trained(x)
        with torch.no_grad():
            maps = self.model.readout_maps(x)
        assert self.model.decoder is not None
        return self.trained(maps, self.model.decoder.config.output_size or x.shape[-2:])


def match_size(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # a decoder with a fixed output size (the official 480×640) trained at another input size
    if prediction.shape[-2:] == target.shape[-2:]:
        return prediction
    return F.interpolate(prediction, size=target.shape[-2:], mode="bilinear", align_corners=False)


def train_step(
    forward: StageForward, criterion: EMLLoss, optimizer: torch.optim.Optimizer, scaler: Any,
    x: torch.Tensor, fixations: torch.Tensor, density: torch.Tensor, amp: bool = False,
) -> torch.Tensor:
    """One optimisation step: forward (fp16 autocast with ``amp``), the loss in float32, backward through
    the grad scaler, optimizer step. Returns the loss (detached, not synchronised)."""
    with torch.autocast(device_type=x.device.type, dtype=torch.float16, enabled=amp):
        prediction = forward(x)
    loss = criterion(match_size(prediction.float(), density), fixations, density)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.detach()


def grad_scaler(enabled: bool) -> Any:
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):  # torch >= 2.3
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


def val_metrics(prediction: np.ndarray, density: np.ndarray, fixmap: np.ndarray) -> Dict[str, float]:
    scores = {"cc": M.cc(prediction, density), "kld": M.kld(prediction, density), "sim": M.sim(prediction, density)}
    if fixmap.any():
        scores["nss"] = M.nss(prediction, fixmap)
    return scores
