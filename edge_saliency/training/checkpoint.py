"""Training checkpoints in our format.

A run folder holds, after every epoch:

- ``last.safetensors`` (+ ``last.safetensors.json``): the model, saved by :func:`edge_saliency.save_model`,
  loadable by ``load_model`` / ``edge-saliency eval`` / ``predict`` / export like any model;
- ``last.state.pt``: what resuming needs besides the weights — epoch, optimizer, lr scheduler, grad
  scaler, the best score so far, the history, and the SHA-256 of ``last.safetensors`` (so weights and state
  from different epochs are never mixed). Only tensors, numbers, strings, lists and dicts: it is read with
  ``torch.load(weights_only=True)``;
- ``best.safetensors`` (+ ``.json``): a copy of the model of the best epoch by the validation metric;
- ``epoch_NNN.safetensors`` (+ ``.json``) for every epoch with ``keep_every_epoch``.

A run writes nothing into its folder before its set-up (data, model, backbone weights, stage-1 files) has
succeeded, and then ``train_config.json`` first. A folder with ``train_config.json`` and no checkpoint is
what a run that stopped before the end of its first epoch left (or an older version of edge-saliency that
wrote the config first): :func:`run_folder_state` calls it ``"unfinished"``, and a new run reuses it.
"""
import collections
import os
import shutil
from typing import Any, Dict

import torch

from ..errors import UserError
from ..files.atomic import atomic_output
from ..files.hashing import file_sha256
from ..models import save_model
from ..models.emlnet import EMLNet
from .config import TRAIN_CONFIG_FILE

LAST = "last.safetensors"
BEST = "best.safetensors"
STATE = "last.state.pt"
CHECKPOINT_FILES = (LAST, STATE, BEST)  # present once an epoch has finished


def run_folder_state(folder: str) -> str:
    """What ``folder`` holds, for a run about to use it: ``"free"`` (absent, or no training files in it),
    ``"unfinished"`` (a ``train_config.json`` but no checkpoint: no epoch finished), ``"run"`` (a config and
    checkpoints) or ``"foreign"`` (checkpoints without a ``train_config.json``)."""
    if not os.path.isdir(folder):
        return "free"
    checkpoints = any(os.path.isfile(os.path.join(folder, name)) for name in CHECKPOINT_FILES)
    config = os.path.isfile(os.path.join(folder, TRAIN_CONFIG_FILE))
    if checkpoints:
        return "run" if config else "foreign"
    return "unfinished" if config else "free"


def _plain_scheduler_state(state: Dict[str, Any]) -> Dict[str, Any]:
    # MultiStepLR keeps its milestones in a Counter; older torch's weights_only loader refuses Counters
    state = dict(state)
    if isinstance(state.get("milestones"), collections.Counter):
        state["milestones"] = dict(state["milestones"])
    return state


def save_checkpoint(folder: str, model: EMLNet, state: Dict[str, Any]) -> None:
    """Write ``last.safetensors`` and then ``last.state.pt`` (with the weights' hash), each atomically."""
    weights = os.path.join(folder, LAST)
    save_model(model, weights)
    state = dict(state, weights_sha256=file_sha256(weights))
    if "scheduler" in state:
        state["scheduler"] = _plain_scheduler_state(state["scheduler"])
    with atomic_output(os.path.join(folder, STATE)) as tmp:
        torch.save(state, tmp)


def copy_weights(folder: str, source: str, target: str) -> None:
    """Copy a saved model and its sidecar within the run folder (each atomically)."""
    for suffix in ("", ".json"):
        with atomic_output(os.path.join(folder, target + suffix)) as tmp:
            shutil.copyfile(os.path.join(folder, source + suffix), tmp)


def load_checkpoint_state(folder: str) -> Dict[str, Any]:
    """The training state of ``folder``, checked against ``last.safetensors``."""
    state_path, weights = os.path.join(folder, STATE), os.path.join(folder, LAST)
    if not (os.path.isfile(state_path) and os.path.isfile(weights)):
        raise UserError("cannot resume: {} has no {} and {} (no epoch finished yet?)".format(folder, LAST, STATE))
    try:
        state = torch.load(state_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise UserError("cannot read {}: {}".format(state_path, str(exc).splitlines()[0])) from None
    if not isinstance(state, dict) or "epoch" not in state:
        raise UserError("{} is not an edge-saliency training state".format(state_path))
    if state.get("weights_sha256") != file_sha256(weights):
        raise UserError("cannot resume: {} does not belong to {} (written by different epochs); restore the pair "
                        "or start a new run".format(weights, state_path))
    scheduler = state.get("scheduler")
    if isinstance(scheduler, dict) and isinstance(scheduler.get("milestones"), dict):
        scheduler["milestones"] = collections.Counter(scheduler["milestones"])
    return state
