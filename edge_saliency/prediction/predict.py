"""Saliency maps for image files through the runners ``run`` uses (``edge-saliency predict`` and ``eval``).

Any model kind (:mod:`edge_saliency.models.source`: a preset with ``--weights``, a ``.safetensors``, an ONNX
file in fp32 / fp16 / int8, an ONNX Runtime artifact, a TensorRT engine) is opened with
:func:`open_model`: the backend that runs it (ONNX Runtime, PyTorch, TensorRT), the input size (the model's
own unless ``--size`` is given) and the model's own pre-processing. :func:`predict_files` then feeds it
batches of images and applies the official post-processing, at each image's own size or at the model's
output size. numpy + OpenCV here; the backend needs what it needs (torch only for PyTorch models).
"""
import dataclasses
import logging
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..config import check_input_size
from ..data.datasets import SampleFiles
from ..data.images import ImageDataset, batches
from ..errors import UnreadableInputError, UserError
from ..maths.postprocess import MAP_SIZES, OFFICIAL_SIGMA, postprocess
from ..maths.preprocess import DEFAULT_MODE, check_available, preprocess
from ..models.source import ModelSource

log = logging.getLogger("edge_saliency")


@dataclasses.dataclass
class OpenModel:
    """An active runner with the size and pre-processing its images get, and where each comes from."""

    source: ModelSource
    runner: Any  # an active edge_saliency.runners.Runner
    size: Tuple[int, int]  # (H, W) of the model input
    size_origin: str
    preprocess: str
    preprocess_origin: str

    def describe(self) -> str:
        """The one line predict / eval print: what runs, on what, at which size, with which pre-processing."""
        return "{}: {}; input {}x{} ({}), pre-processing {} ({})".format(
            self.source.name, self.runner.describe(), self.size[0], self.size[1], self.size_origin,
            self.preprocess, self.preprocess_origin)

    def record(self) -> Dict[str, Any]:
        """What a result JSON records about the model: its file and weights with their sha256, the input
        size, backend, precision and pre-processing."""
        sums = self.source.checksums()
        return {
            "name": self.source.name,
            "kind": self.source.kind,
            "file": sums["model"],
            "weights": sums["weights"],
            "input_size": list(self.size),
            "input_size_from": self.size_origin,
            "backend": self.runner.backend,
            "precision": self.runner.precision,
            "runner": self.runner.describe(),
            "preprocess": self.preprocess,
            "preprocess_from": self.preprocess_origin,
        }

    def predict(self, image: Any, bgr: bool = False, sigma: float = OFFICIAL_SIGMA, map_size: str = "image") -> Any:
        """The saliency map of one image (H×W×3 uint8, RGB; ``bgr`` for OpenCV's order) as ``predict`` writes it:
        H×W uint8 at the image's own size, with the official post-processing (``map_size="model"``: at the
        model's output size)."""
        return self.predict_batch([image], bgr=bgr, sigma=sigma, map_size=map_size)[0]

    def predict_batch(self, images: Sequence[Any], bgr: bool = False, sigma: float = OFFICIAL_SIGMA,
                      map_size: str = "image", batch_size: int = 4) -> List[Any]:
        """The maps of several images (each as :meth:`predict`), ``batch_size`` per forward pass."""
        checked = [_check_image(image, i) for i, image in enumerate(images)]
        step = max(1, batch_size)
        maps: List[Any] = []
        for start in range(0, len(checked), step):
            chunk = checked[start:start + step]
            # the model's own resize; preprocess takes OpenCV's channel order itself (no reversed copy)
            inputs = [preprocess(image, self.size, self.preprocess, bgr=bgr)[0] for image in chunk]
            maps += [saliency for _, saliency in self.maps(inputs, [i.shape[:2] for i in chunk], sigma, map_size)]
        return maps

    def maps(self, inputs: Sequence[Any], shapes: Sequence[Tuple[int, int]], sigma: float = OFFICIAL_SIGMA,
             map_size: str = "image") -> List[Tuple[Any, Any]]:
        """(raw float map, uint8 map) per model input (3×h×w, already pre-processed), for images of ``shapes``:
        the one inference and post-processing path of :func:`predict_files` and :meth:`predict`."""
        import numpy as np

        from ..runners import saliency_maps

        if map_size not in MAP_SIZES:
            raise UserError("map size must be one of {}, got {!r}".format(", ".join(MAP_SIZES), map_size))
        output = saliency_maps(self.runner.infer(np.stack(list(inputs))))
        return [(raw, postprocess(raw, tuple(int(v) for v in shape) if map_size == "image" else None, sigma=sigma))
                for raw, shape in zip(output, shapes)]

    def close(self) -> None:
        self.runner.deactivate()

    def __enter__(self) -> "OpenModel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_model(model: Any, weights: Optional[str] = None, input_size: Optional[Sequence[int]] = None,
               backend: str = "auto", device: str = "auto", precision: Optional[str] = None,
               threads: Optional[int] = None, engine_dir: str = "engines") -> OpenModel:
    """Parse ``model`` (with ``weights`` for a preset or config), create and activate its runner, and settle
    the input size: ``input_size`` when given (a static ONNX file / engine must have it), else the model's own
    (its static input shape, the ONNX export size, the size saved with the weights, the config's).
    PyTorch models run in fp32 unless ``precision`` says otherwise."""
    from ..runners import create_runner

    source = ModelSource.parse(model, weights)
    size = check_input_size(input_size, hint=" (EML-Net sizes are multiples of 32)") if input_size else None
    if source.is_torch and precision is None:
        precision = "fp32"  # the reference; run's default (fp16 on a GPU) is a speed choice
    if not source.is_torch and not source.trained:  # (the PyTorch runner says so itself)
        log.warning("warning: %s has random readouts and decoder (no --weights): the maps show the pipeline, "
                    "not saliency", source.name)
    runner = create_runner(source, backend, device=device, precision=precision, input_size=size, threads=threads,
                           engine_dir=engine_dir)
    runner.activate()
    try:
        chosen, origin = _input_size(source, runner, size)
        mode = runner.preprocess or source.preprocess
        mode_origin = "the model's" if mode else "the default: the model records none"
        mode = check_available(mode or DEFAULT_MODE)
    except BaseException:
        runner.deactivate()
        raise
    return OpenModel(source, runner, chosen, origin, mode, mode_origin)


def _input_size(source: ModelSource, runner: Any, size: Optional[Tuple[int, int]]) -> Tuple[Tuple[int, int], str]:
    fixed = runner.fixed_size
    if size is not None:
        if fixed is not None and tuple(fixed) != tuple(size):
            raise UserError("{} takes {}x{} inputs only (a static export): drop --size, or export it again with "
                            "--size {}x{} (or --dynamic)".format(source.name, fixed[0], fixed[1], size[0], size[1]))
        return (int(size[0]), int(size[1])), "--size"
    own = source.input_size
    if fixed is not None:
        return (int(fixed[0]), int(fixed[1])), source.size_origin if own == tuple(fixed) else "its input shape"
    preferred = runner.preferred_size or own
    if preferred is None:
        raise UserError("{} has a dynamic input size and records none: give --size HxW".format(source.name))
    return (int(preferred[0]), int(preferred[1])), source.size_origin


def predict_files(
    model: OpenModel,
    files: Sequence[SampleFiles],
    batch_size: int = 4,
    workers: int = 2,
    sigma: float = OFFICIAL_SIGMA,
    annotations: bool = False,
    map_size: str = "image",
    skip: Optional[Callable[[SampleFiles, str], None]] = None,
) -> Iterator[Dict[str, Any]]:
    """For every image: ``{"name", "saliency" (uint8, official post-processing), "raw" (the model's float
    map), "shape", "density", "fixations"}`` (annotations only when asked).

    Images are stretched to ``model.size`` (RGB in [0, 1]) with ``model.preprocess``, decoded ahead by
    ``workers`` threads; ``sigma`` is the post-processing blur at 480×640 (0 switches it off); ``map_size``:
    ``"image"`` resizes each map to its image's size, ``"model"`` keeps the model's output size (480×640 for
    the official model: the official script's map). ``skip``: called with a file and the reason for each image
    that cannot be read (UnreadableInputError), which is then left out; without it, the first one raises.
    """
    if batch_size < 1:
        raise UserError("--batch-size must be at least 1, got {}".format(batch_size))
    dataset = ImageDataset(files, model.size, model.preprocess, annotations=annotations)
    for batch in batches(dataset if skip is None else _Skipping(dataset, skip), batch_size, workers):
        shapes = [(int(item["shape"][0]), int(item["shape"][1])) for item in batch]
        results = model.maps([item["image"] for item in batch], shapes, sigma, map_size)
        for item, shape, (raw, saliency) in zip(batch, shapes, results):
            yield {
                "name": item["name"],
                "raw": raw,
                "saliency": saliency,
                "shape": shape,
                "density": item["density"],
                "fixations": item["fixations"],
            }


class _Skipping:
    """``dataset`` with each item that cannot be read reported to ``skip`` and given as None."""

    def __init__(self, dataset: ImageDataset, skip: Callable[[SampleFiles, str], None]) -> None:
        self.dataset, self.skip = dataset, skip

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Optional[Dict[str, Any]]:
        try:
            return self.dataset[index]
        except UnreadableInputError as exc:
            self.skip(self.dataset.files[index], str(exc))
            return None


def _check_image(image: Any, index: int) -> Any:
    """An H×W×3 uint8 array, or UserError naming what it is instead."""
    import numpy as np

    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise UserError("image {} is {} {}; predict takes H×W×3 uint8 images (RGB, or bgr=True for OpenCV's "
                        "order)".format(index, array.dtype, "×".join(str(d) for d in array.shape) or "a scalar"))
    return array
