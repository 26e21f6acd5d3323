"""The PyTorch dataset of training and validation samples over :mod:`edge_saliency.data`, at the model's input
size (images for prediction and evaluation: :class:`edge_saliency.data.images.ImageDataset`)."""
from typing import Any, Dict, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.datasets import SampleFiles, load_sample
from ..data.transforms import hflip, hflip_points, points_to_map, resize_image, scale_points, to_model_input
from ..errors import UserError


def model_sample(
    image: np.ndarray, density: np.ndarray, fixations: np.ndarray, size: Sequence[int], mode: str, flip: bool
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(image 3×h×w float [0, 1], density h×w float32, fixation map h×w float32, fixation points) at the
    model input size ``size`` (the image resized by the model's pre-processing ``mode``), mirrored
    left-right when ``flip`` — the image, map and fixations together."""
    h, w = int(size[0]), int(size[1])
    points = scale_points(fixations, image.shape[:2], (h, w))
    density = resize_image(density.astype(np.float32), (h, w))
    x = to_model_input(image, (h, w), mode)
    if flip:
        x = np.ascontiguousarray(x[:, :, ::-1])
        density = hflip(density)
        points = hflip_points(points, w)
    return x, density, points_to_map(points, (h, w)), points


def worker_error(exc: UserError) -> UserError:
    """A UserError raised in a DataLoader worker process reaches the main process with the worker's
    traceback folded into its message; give back the one-line message it was raised with."""
    text = str(exc)
    if "Traceback" not in text:
        return exc
    last = [line for line in text.strip().splitlines() if line.strip()][-1]
    return UserError(last.split(": ", 1)[1] if ": " in last else last)


class SaliencyDataset(Dataset):
    """Training / validation samples: ``{"image": 3×h×w, "density": 1×h×w, "fixations": 1×h×w, "index"}``.

    With ``flip=True`` each sample is mirrored with probability ½, decided by (seed, epoch, index) so that
    every process and every resumed run sees the same flips; call :meth:`set_epoch` each epoch.
    """

    def __init__(self, files: Sequence[SampleFiles], size: Sequence[int], mode: str, flip: bool = False,
                 seed: int = 0) -> None:
        if not files:
            raise UserError("the dataset split is empty")
        missing = [f.name for f in files if f.map is None or f.fixations is None]
        if missing:
            raise UserError("training needs a map and fixations for every image; {} lack them (e.g. {})".format(
                len(missing), ", ".join(missing[:3])))
        self.files = list(files)
        self.size = (int(size[0]), int(size[1]))
        self.mode = mode
        self.flip = flip
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.files)

    def flipped(self, index: int) -> bool:
        return self.flip and bool(np.random.default_rng([self.seed, self.epoch, index]).random() < 0.5)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        sample = load_sample(self.files[index])
        assert sample.density is not None and sample.fixations is not None
        x, density, fixmap, _ = model_sample(sample.image, sample.density, sample.fixations, self.size, self.mode,
                                             self.flipped(index))
        return {
            "image": torch.from_numpy(x),
            "density": torch.from_numpy(density)[None],
            "fixations": torch.from_numpy(fixmap)[None],
            "index": index,
        }
