"""Images for prediction and evaluation: each at the model's input size, with what scoring needs at the
image's own size. numpy + OpenCV (no torch), so ``predict`` and ``eval`` run wherever ONNX Runtime does."""
import collections
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Sequence, TypeVar

import numpy as np

from .datasets import SampleFiles, read_annotations
from .io import read_image_rgb
from .transforms import to_model_input

T = TypeVar("T")


class ImageDataset:
    """``dataset[i]``: ``{"image": 3×h×w float32 (the model input), "name", "shape" (the image's (H, W)),
    "density" (or None), "fixations" (or None)}``; annotations are read only when ``annotations``. A plain
    sequence: a PyTorch ``DataLoader`` takes it as a map-style dataset too."""

    def __init__(self, files: Sequence[SampleFiles], size: Sequence[int], mode: str, annotations: bool = True) -> None:
        self.files = list(files)
        self.size = (int(size[0]), int(size[1]))
        self.mode = mode
        self.annotations = annotations

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        files = self.files[index]
        image = read_image_rgb(files.image)
        density: Optional[np.ndarray] = None
        fixations: Optional[np.ndarray] = None
        if self.annotations:
            density, fixations = read_annotations(files, image.shape[:2])
        return {
            "image": to_model_input(image, self.size, self.mode),
            "name": files.name,
            "shape": image.shape[:2],
            "density": density,
            "fixations": fixations,
        }


def prefetch(load: Callable[[int], T], count: int, workers: int, ahead: int) -> Iterator[T]:
    """``load(0) ... load(count - 1)`` in order, computed by ``workers`` threads (image decoding and resizing
    release the GIL) at most ``ahead`` items in front of the consumer; ``workers`` 0: in this thread."""
    if workers <= 0:
        for index in range(count):
            yield load(index)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="images") as pool:
        pending: Deque[Any] = collections.deque()
        submitted = 0
        try:
            while pending or submitted < count:
                while submitted < count and len(pending) < max(1, ahead):
                    pending.append(pool.submit(load, submitted))
                    submitted += 1
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def batches(dataset: Any, batch_size: int, workers: int) -> Iterator[List[Dict[str, Any]]]:
    """The items of ``dataset`` (an :class:`ImageDataset`, or any sized, indexable stand-in) in lists of
    ``batch_size`` (the last may be shorter), decoded ahead by ``workers``; an item given as None (a skipped file)
    is left out."""
    batch: List[Dict[str, Any]] = []
    for item in prefetch(dataset.__getitem__, len(dataset), workers, ahead=2 * max(batch_size, workers)):
        if item is None:
            continue
        batch.append(item)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
