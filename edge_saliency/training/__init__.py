"""EML-Net training (needs the ``[train]`` extra: torch, timm, scipy, tqdm).

- :mod:`.loss` — the EML loss (KL + 1 − CC + NSS(F;F) − NSS(P;F)), batched and differentiable;
- :mod:`.stages` — stage-1 models, assembling the fused model from stage-1 files, freezing encoders;
- :mod:`.trainer` — ``train(TrainConfig)``, single process or under ``torchrun``;
- :mod:`.checkpoint` — the run folder (last / best weights, resumable state);
- :mod:`.dataset` — PyTorch datasets over :mod:`edge_saliency.data`.
"""
from .._lazy import require

require("torch", purpose="training")

from .config import TrainConfig  # noqa: E402
from .loss import EMLLoss, eml_loss, eml_loss_terms  # noqa: E402
from .stages import assemble_fused_model, build_stage1_model, freeze_encoders, stage1_config  # noqa: E402
from .trainer import TrainResult, resume_config, train  # noqa: E402

__all__ = [
    "EMLLoss", "TrainConfig", "TrainResult", "assemble_fused_model", "build_stage1_model", "eml_loss",
    "eml_loss_terms", "freeze_encoders", "resume_config", "stage1_config", "train",
]
