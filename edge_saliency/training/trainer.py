"""The training loop of both EML-Net stages, on one device or many through ``torchrun``.

``train(config)`` runs in every process that ``torchrun`` starts (or in the one process of a plain
run): DistributedDataParallel over the trained part (stage 1: the whole stage-1 model; stage 2: the
decoder), a DistributedSampler over the training split, validation sharded over the processes and summed.
Process 0 writes the checkpoints, ``log.json`` and the per-epoch line; every process returns the trained
model. See :mod:`edge_saliency.training.checkpoint` for the run folder.
"""
import dataclasses
import json
import logging
import os
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler

from .._lazy import require
from ..data.datasets import SampleFiles
from ..errors import UserError
from ..files.atomic import atomic_write_text
from ..models.emlnet import EMLNet
from . import checkpoint as ckpt
from . import distributed as D
from .config import TRAIN_CONFIG_FILE, TrainConfig
from .dataset import SaliencyDataset, worker_error
from .loss import TERMS, EMLLoss, eml_loss_terms, weighted_loss
from .stages import set_train_mode
from .steps import (
    StageForward,
    build_training_model,
    grad_scaler,
    match_size,
    split_files,
    train_step,
    training_model_config,
    val_metrics,
)

log = logging.getLogger("edge_saliency")
LOG_FILE = "log.json"
VAL_MAP_METRICS = ("cc", "nss", "kld", "sim")  # scored per image at the model's input size, MIT convention
LOSS_NAMES = ("loss",) + tuple("loss_" + t for t in TERMS)  # the loss and its three terms in records


@dataclasses.dataclass
class TrainResult:
    model: EMLNet  # the model as trained, in eval mode (not the best epoch's: that is best.safetensors)
    history: List[Dict[str, Any]]
    output: str
    best: Optional[Dict[str, Any]]
    is_main: bool = True  # process 0 (the one that wrote the run folder)


class Trainer:
    def __init__(self, config: TrainConfig, resume: bool = False, progress: bool = True) -> None:
        config.validate()
        self.config, self.resume, self.progress = config, resume, progress
        self.start_epoch = 0
        self.history: List[Dict[str, Any]] = []
        self.best: Optional[Dict[str, Any]] = None
        self.created_folder = self.wrote_config = False
        self.saved_epochs = 0  # checkpoints this run has written

    # -- set-up ------------------------------------------------------------------------------------------
    def _setup(self) -> None:
        """Everything that can fail on bad input — data, model, backbone weights, stage-1 files, the saved
        state of a resumed run — before anything is written: a failed set-up leaves no run folder."""
        config, info = self.config, self.info
        self.amp = config.amp if config.amp is not None else info.device.type == "cuda"
        if self.amp and info.device.type != "cuda":
            raise UserError("mixed precision (--amp) needs a CUDA device; this run is on {}".format(info.device))
        torch.manual_seed(config.seed)
        if info.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.model_config, self.size = training_model_config(config)
        self.folder_state = self._check_folder()
        train_files = split_files(config, config.train_split)
        val_files: List[SampleFiles] = []
        if config.val_split:
            try:
                val_files = split_files(config, config.val_split, config.val_limit)
            except UserError as exc:
                raise UserError("validation split: {} (choose it with --val-split, or --no-val)".format(exc)) from None
        self.model = build_training_model(config, self.model_config, self.resume).to(info.device)
        self.forward = StageForward(self.model, config.stage, info)

        self.workers = config.workers if config.workers is not None else D.default_workers()
        self.train_set = SaliencyDataset(train_files, self.size, self.model_config.preprocess, flip=config.hflip,
                                         seed=config.seed)
        self.sampler: DistributedSampler[Any] = DistributedSampler(
            self.train_set, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=config.seed)
        pin = info.device.type == "cuda"
        self.train_loader = DataLoader(self.train_set, batch_size=config.batch_size, sampler=self.sampler,
                                       num_workers=self.workers, pin_memory=pin)
        self.val_loader = None
        if val_files:
            val_set = SaliencyDataset(val_files, self.size, self.model_config.preprocess)
            shard = Subset(val_set, range(info.rank, len(val_set), info.world_size))  # no padding duplicates
            self.val_loader = DataLoader(shard, batch_size=config.batch_size, num_workers=self.workers,
                                         pin_memory=pin)

        params = [p for p in self.forward.trained.parameters() if p.requires_grad]
        self.optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, list(config.lr_milestones),
                                                              config.lr_gamma)
        self.scaler = grad_scaler(self.amp)
        self.criterion = EMLLoss(config.loss_weights)
        if self.resume:
            state = ckpt.load_checkpoint_state(config.output)
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            if state.get("scaler") and self.amp:  # an empty state is a disabled scaler
                self.scaler.load_state_dict(state["scaler"])
            self.start_epoch, self.history, self.best = int(state["epoch"]), list(state["history"]), state["best"]

    def _check_folder(self) -> str:
        """The state of the run folder (see :func:`checkpoint.run_folder_state`); refuses one this run must
        not write into. A resumed run whose folder has no finished epoch starts over with its saved config."""
        folder = self.config.output
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise UserError("--out {} is a file, not a folder; choose a folder for the run".format(folder))
        state = ckpt.run_folder_state(folder)
        if state == "foreign":
            raise UserError("{} holds checkpoints but no {}: it is not a run this version can continue; choose "
                            "another --out".format(folder, TRAIN_CONFIG_FILE))
        if self.resume and state == "unfinished":
            self.resume = False  # nothing to continue: start from epoch 1, with the config it saved
            if self.info.is_main:
                log.warning("note: no epoch of the run in %s finished; starting it from epoch 1 with its saved "
                            "config", folder)
        elif not self.resume and state == "run":
            raise UserError("{} already holds a training run; continue it with --resume {} or choose another "
                            "--out".format(folder, folder))
        elif not self.resume and state == "unfinished" and self.info.is_main:
            log.warning("note: %s holds the %s of a run that stopped before its first epoch ended; this run "
                        "starts over in it", folder, TRAIN_CONFIG_FILE)
        return state

    def _open_folder(self) -> None:
        """After a successful set-up: create the run folder and save the config (process 0)."""
        config, info = self.config, self.info
        D.barrier(info)  # every process has looked at the folder and finished its set-up before process 0 writes
        if info.is_main:
            self.created_folder = not os.path.isdir(config.output)
            os.makedirs(config.output, exist_ok=True)
            if self.start_epoch == 0:
                config.save(config.output)
                self.wrote_config = True

    def _close_failed_start(self) -> None:
        """A run that fails before its first checkpoint takes back what it wrote: its config, and the folder
        when it made it and nothing else is in it."""
        if not (self.info.is_main and self.wrote_config and not self.saved_epochs):
            return
        folder = self.config.output
        try:
            os.remove(os.path.join(folder, TRAIN_CONFIG_FILE))
            if self.created_folder:
                os.rmdir(folder)  # only when empty
        except OSError:
            pass

    # -- one epoch ---------------------------------------------------------------------------------------
    def _autocast(self) -> Any:
        return torch.autocast(device_type=self.info.device.type, dtype=torch.float16, enabled=self.amp)

    def _batch(self, batch: Dict[str, Any]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        device = self.info.device
        return (batch["image"].to(device, non_blocking=True), batch["fixations"].to(device, non_blocking=True),
                batch["density"].to(device, non_blocking=True))

    def _train_epoch(self, epoch: int) -> Dict[str, float]:
        config, info = self.config, self.info
        self.train_set.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        set_train_mode(self.model, config.stage)
        steps = len(self.train_loader) if config.steps_per_epoch is None else min(len(self.train_loader),
                                                                                  config.steps_per_epoch)
        tqdm = require("tqdm", extra="train", purpose="the training progress bar").tqdm
        bar = tqdm(total=steps, disable=not (self.progress and info.is_main), leave=False, unit="batch",
                   desc="epoch {}/{}".format(epoch + 1, config.epochs), dynamic_ncols=True)
        # loss, kl, cc, nss, images — summed on the device, read back at the end (no sync per step)
        sums = torch.zeros(len(TERMS) + 2, dtype=torch.float64, device=info.device)
        start = time.time()
        try:
            for step, batch in enumerate(self.train_loader):
                if step >= steps:
                    break
                x, fixations, density = self._batch(batch)
                loss = train_step(self.forward, self.criterion, self.optimizer, self.scaler, x, fixations, density,
                                  self.amp)
                terms = [self.criterion.last_terms[k] for k in TERMS]
                sums += torch.stack([loss] + terms + [torch.ones((), device=loss.device)]).double() * x.shape[0]
                bar.update(1)
                if step % 20 == 0 or step + 1 == steps:  # reading the loss synchronises a GPU: not every step
                    mean = float(sums[0] / sums[-1])
                    if not np.isfinite(mean):
                        raise UserError("the loss became {} by epoch {} step {}; lower --lr".format(
                            mean, epoch + 1, step + 1))
                    bar.set_postfix(loss="{:.4f}".format(mean))
        except UserError as exc:
            raise worker_error(exc) from None
        finally:
            bar.close()
        sums = D.all_sum(info, sums.cpu())
        images = float(sums[-1])
        seconds = time.time() - start
        record = {name: float(sums[i] / max(images, 1.0)) for i, name in enumerate(LOSS_NAMES)}
        record.update(images=int(images), seconds=round(seconds, 3), images_per_second=round(images / seconds, 3))
        return record

    def _validate(self, epoch: int) -> Optional[Dict[str, float]]:
        if self.val_loader is None:
            return None
        tqdm = require("tqdm", extra="train", purpose="the training progress bar").tqdm
        bar = tqdm(total=len(self.val_loader), disable=not (self.progress and self.info.is_main), leave=False,
                   unit="batch", desc="validation {}/{}".format(epoch + 1, self.config.epochs), dynamic_ncols=True)
        self.model.eval()
        names = LOSS_NAMES + VAL_MAP_METRICS
        sums = torch.zeros(2 * len(names), dtype=torch.float64)  # (sum, count) per name
        weights = self.criterion.weights
        try:
            with torch.no_grad():
                for batch in self.val_loader:
                    x, fixations, density = self._batch(batch)
                    with self._autocast():
                        prediction = self.model(x)
                    prediction = match_size(prediction.float(), density)
                    terms = eml_loss_terms(prediction, fixations, density)
                    loss = weighted_loss(terms, weights)
                    per_sample = [loss] + [terms[k] for k in TERMS]
                    for i, values in enumerate(per_sample):
                        sums[2 * i] += float(values.sum())
                        sums[2 * i + 1] += values.numel()
                    arrays = (t[:, 0].cpu().numpy() for t in (prediction, density, fixations))
                    for pred, dens, fix in zip(*arrays):
                        for name, value in val_metrics(pred, dens, fix).items():
                            if not np.isfinite(value):  # undefined for this image (a constant map): skip it
                                continue
                            i = names.index(name)
                            sums[2 * i] += value
                            sums[2 * i + 1] += 1
                    bar.update(1)
        except UserError as exc:
            raise worker_error(exc) from None
        finally:
            bar.close()
        sums = D.all_sum(self.info, sums)
        return {name: float(sums[2 * i] / sums[2 * i + 1]) for i, name in enumerate(names) if sums[2 * i + 1] > 0}

    # -- the run -----------------------------------------------------------------------------------------
    def _is_better(self, score: float) -> bool:
        if self.best is None:
            return True
        return score < self.best["score"] if self.config.mode == "min" else score > self.best["score"]

    def _write_log(self) -> None:
        info = self.info
        data = {
            "config": self.config.to_dict(),
            "model": self.model_config.to_dict(),
            "world_size": info.world_size,
            "device": str(info.device) if not info.distributed else "{} x{}".format(info.device.type, info.world_size),
            "mixed_precision": self.amp,
            "global_batch_size": self.config.batch_size * info.world_size,
            "workers": self.workers,
            "best": self.best,
            "epochs": self.history,
        }
        atomic_write_text(os.path.join(self.config.output, LOG_FILE), json.dumps(data, indent=2) + "\n")

    def _epoch_line(self, record: Dict[str, Any]) -> str:
        train = record["train"]
        parts = ["epoch {}/{}".format(record["epoch"], self.config.epochs), "lr {:.3g}".format(record["lr"]),
                 "train loss {:.4f} (kl {:.4f}, 1-cc {:.4f}, nss {:.4f})".format(
                     train["loss"], train["loss_kl"], train["loss_cc"], train["loss_nss"])]
        val = record.get("val")
        if val:
            parts.append("val " + " ".join("{} {:.4f}".format(k, val[k]) for k in ("loss",) + VAL_MAP_METRICS
                                           if k in val))
        if self.best is not None and self.best["metric"] != "epoch":  # without validation the last epoch is best
            best = self.best
            parts.append("best {} {:.4f} (epoch {})".format(best["metric"], best["score"], best["epoch"]))
        parts.append("{:.0f} img/s".format(train["images_per_second"]) if train["images_per_second"] >= 10
                     else "{:.2f} img/s".format(train["images_per_second"]))
        return "  ".join(parts)

    def run(self) -> TrainResult:
        self.info = D.setup(self.config.device)
        try:
            self._setup()
            self._open_folder()
            try:
                return self._epochs()
            except BaseException:  # KeyboardInterrupt too: a run stopped in its first epoch leaves nothing
                self._close_failed_start()
                raise
        finally:
            D.teardown(self.info)

    def _start_line(self) -> str:
        config, info = self.config, self.info
        device = "{} x{}".format(info.device.type, info.world_size) if info.distributed else str(info.device)
        line = "stage {}: {} at {}x{} on {}, {} training images, {} data-loading worker{}{}".format(
            config.stage, self.model_config.name, self.size[0], self.size[1], device, len(self.train_set),
            self.workers, "" if self.workers == 1 else "s", ", mixed precision" if self.amp else "")
        return line

    def _epochs(self) -> TrainResult:
        config, info = self.config, self.info
        if info.is_main:
            if self.start_epoch >= config.epochs:
                log.info("%s already finished %d of %d epochs; raise --epochs to train more",
                         config.output, self.start_epoch, config.epochs)
            else:
                log.info(self._start_line())
                if self.resume:
                    log.info("resuming %s from epoch %d of %d", config.output, self.start_epoch + 1, config.epochs)
        for epoch in range(self.start_epoch, config.epochs):
            lr = self.optimizer.param_groups[0]["lr"]
            train = self._train_epoch(epoch)
            D.broadcast_buffers(info, self.forward.trained)
            self.scheduler.step()
            val = self._validate(epoch)
            record: Dict[str, Any] = {"epoch": epoch + 1, "lr": lr, "train": train, "val": val}
            if info.distributed:
                tensors = list(self.model.state_dict().values())
                record["max_weight_difference_across_processes"] = D.max_difference_across_ranks(info, tensors)
            if val is None:  # no validation: the last epoch is the best
                improved, metric, score = True, "epoch", float(epoch + 1)
            else:
                metric = config.val_metric
                score = float(val.get(metric, float("nan")))
                improved = metric in val and self._is_better(score)
            record["best"] = improved
            if improved:
                self.best = {"epoch": epoch + 1, "metric": metric, "score": score}
            self.history.append(record)
            if info.is_main:
                self._save(epoch, improved)
                log.info(self._epoch_line(record))
            D.barrier(info)
        return TrainResult(self.model.eval(), self.history, config.output, self.best, info.is_main)

    def _save(self, epoch: int, improved: bool) -> None:
        folder = self.config.output
        state = {
            "epoch": epoch + 1,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "best": self.best,
            "history": self.history,
        }
        ckpt.save_checkpoint(folder, self.model, state)
        self.saved_epochs += 1
        if improved:
            ckpt.copy_weights(folder, ckpt.LAST, ckpt.BEST)
        if self.config.keep_every_epoch:
            ckpt.copy_weights(folder, ckpt.LAST, "epoch_{:03d}.safetensors".format(epoch + 1))
        self._write_log()


def train(config: TrainConfig, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train one stage as ``config`` says; with ``resume`` continue the run in ``config.output``."""
    return Trainer(config, resume=resume, progress=progress).run()


def resume_config(folder: str, **changes: Any) -> TrainConfig:
    """The saved config of a run folder, with the changes a resumed run may make (``epochs``, ``data``,
    ``workers``, ``device``, ``steps_per_epoch``, ``val_limit``)."""
    allowed = {"epochs", "data", "workers", "device", "steps_per_epoch", "val_limit"}
    bad = sorted(k for k, v in changes.items() if v is not None and k not in allowed)
    if bad:
        raise UserError("a resumed run keeps its training config; only {} may change, not {}".format(
            ", ".join(sorted(allowed)), ", ".join(bad)))
    config = TrainConfig.load(folder)
    config = dataclasses.replace(config, output=folder, **{k: v for k, v in changes.items() if v is not None})
    config.validate()
    return config
