"""Saliency maps from a PyTorch EML-Net for image files: loading a model the way the CLI names it, batched
prediction with the model's own pre-processing, and the official post-processing, at each image's own size
or at the model's output size (``edge-saliency predict`` and ``eval``). Needs torch (the ``[export]``
extra)."""
import dataclasses
import logging
import os
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

import torch
from torch.utils.data import DataLoader

from .config import check_input_size
from .data.datasets import SampleFiles
from .errors import UserError
from .models import create_model, load_model, load_state, read_checkpoint
from .models.emlnet import EMLNet
from .postprocess import MAP_SIZES, OFFICIAL_SIGMA, postprocess
from .training.dataset import ImageDataset, collate_images, worker_error
from .training.distributed import pick_device

log = logging.getLogger("edge_saliency")


def load_inference_model(
    model: str, weights: Optional[str] = None, input_size: Optional[Sequence[int]] = None
) -> Tuple[EMLNet, bool]:
    """(model in eval mode, whether it holds trained weights).

    ``model``: a ``.safetensors`` file saved by edge-saliency (its config comes along), or a preset name /
    config ``.json`` together with ``weights`` (a ``.safetensors`` or a ``weights_only`` torch state dict of
    that model). ``input_size`` overrides the config's nominal input size (what images are resized to).
    """
    overrides: Dict[str, Any] = {}
    if input_size is not None:
        overrides["input_size"] = check_input_size(input_size)
    if model.endswith(".safetensors"):
        if weights:
            raise UserError("{} already holds weights; --weights goes with a preset name or a config .json".format(
                model))
        net = load_model(model)
        if overrides:
            net.config = dataclasses.replace(net.config, **overrides)
        return net.eval(), True
    if model.endswith(".json") and not os.path.isfile(model):
        raise UserError("model config not found: {}".format(model))
    net = create_model(model, **overrides)
    if weights is None:
        return net, False
    load_state(net, read_checkpoint(weights), what=weights)
    return net.eval(), True


def warn_if_untrained(trained: bool, model: str) -> None:
    if not trained:
        log.warning("warning: %s has random readouts and decoder (no --weights): the maps show the pipeline, "
                    "not saliency", model)


def predict_files(
    model: EMLNet,
    files: Sequence[SampleFiles],
    device: str = "auto",
    batch_size: int = 4,
    workers: int = 2,
    sigma: float = OFFICIAL_SIGMA,
    annotations: bool = False,
    map_size: str = "image",
) -> Iterator[Dict[str, Any]]:
    """For every image: ``{"name", "saliency" (uint8, official post-processing), "raw" (the model's float
    map), "shape", "density", "fixations"}`` (annotations only when asked).

    Images are stretched to ``model.config.input_size`` (RGB in [0, 1]) with the model's pre-processing
    (``model.config.preprocess``); ``sigma`` is the post-processing blur at 480×640 (0 switches it off);
    ``map_size``: ``"image"`` resizes each map to its image's size, ``"model"`` keeps the model's output size
    (480×640 for the official model: the official script's map).
    """
    if map_size not in MAP_SIZES:
        raise UserError("map size must be one of {}, got {!r}".format(", ".join(MAP_SIZES), map_size))
    torch_device = pick_device(device, 0)
    model = model.to(torch_device).eval()
    size = model.config.input_size
    loader = DataLoader(ImageDataset(files, size, model.config.preprocess, annotations=annotations),
                        batch_size=batch_size, num_workers=workers, collate_fn=collate_images)
    with torch.no_grad():
        try:
            for batch in loader:
                output = model(batch["image"].to(torch_device)).float().cpu().numpy()[:, 0]
                for i, raw in enumerate(output):
                    shape = tuple(int(v) for v in batch["shape"][i])
                    yield {
                        "name": batch["name"][i],
                        "raw": raw,
                        "saliency": postprocess(raw, shape if map_size == "image" else None, sigma=sigma),
                        "shape": shape,
                        "density": batch["density"][i],
                        "fixations": batch["fixations"][i],
                    }
        except UserError as exc:
            raise worker_error(exc) from None
