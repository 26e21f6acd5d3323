"""``edge-saliency predict``: saliency maps for images, folders or globs, from any model kind the runtime runs
(through the same runners as ``run``), at the model's own input size, with the model's own pre-processing and
the official post-processing (blur σ = 5 px at 480×640 repeating the edge pixel, min-max, truncation to a uint8
PNG, at the image's own size or at the model's output size) and optional heat-map overlays.

    edge-saliency predict photos/ --model runs/fused/best.safetensors -o maps/ --overlay
    edge-saliency predict photos/ --model lite-int8.onnx -o maps-int8/
    edge-saliency predict photo.jpg --model emlnet-official.safetensors --map-size model   # the official map
"""
import argparse
import glob
import os
from typing import Any, Callable, Dict, List

from .common import INPUT_SKIPPED, add_model_arguments, add_subcommand


def register(subparsers: Any) -> None:
    from ..maths.postprocess import COLORMAPS, MAP_SIZES, OFFICIAL_SIGMA  # numpy only

    parser = add_subcommand(
        subparsers, "predict", run, help="write saliency maps (PNG) for images, folders or globs",
        description="Write OUT/NAME.png for every input image: the model's map, blurred (sigma 5 px at 480x640, "
                    "edge pixel repeated), resized to the image's own size (or kept at the model's output size "
                    "with --map-size model) and min-max scaled to 8-bit grey (truncated), as the official "
                    "EML-Net code does. --overlay also writes OUT/NAME_overlay.jpg, the heat map over the image.",
    )
    add_model_arguments(parser, option=True)
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="an image file, a folder (its images, not recursive) or a quoted glob ('shots/*.jpg')")
    parser.add_argument("-o", "--out", default="saliency", metavar="DIR", help="output folder (default: saliency)")
    group = parser.add_argument_group("post-processing")
    group.add_argument("--sigma", type=float, default=OFFICIAL_SIGMA,
                       help="Gaussian blur sigma in pixels at 480x640, scaled with the map (default 5; 0: none)")
    group.add_argument("--map-size", choices=MAP_SIZES, default="image",
                       help="image: each map at its image's size (default); model: at the model's output size "
                            "(480x640 for the official model, the official script's map)")
    group.add_argument("--overlay", action="store_true", help="also write NAME_overlay.jpg (heat map over the image)")
    group.add_argument("--alpha", type=float, default=0.5, help="heat-map weight in the overlay (default 0.5)")
    group.add_argument("--colormap", choices=COLORMAPS, default="jet", help="overlay colour map (default jet)")


def collect_images(inputs: List[str]) -> List[str]:
    """Image paths from files, folders (their images, sorted) and globs; a name that matches nothing is an error."""
    from ..data.io import IMAGE_EXTENSIONS
    from ..errors import UserError

    def is_image(path: str) -> bool:
        return os.path.isfile(path) and os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS

    paths: List[str] = []
    for item in inputs:
        if os.path.isdir(item):
            found = sorted(os.path.join(item, f) for f in os.listdir(item) if is_image(os.path.join(item, f)))
            if not found:
                raise UserError("no images ({}) in folder {}".format(" ".join(IMAGE_EXTENSIONS), item))
        elif os.path.isfile(item):
            found = [item]
        else:
            found = sorted(p for p in glob.glob(item, recursive=True) if is_image(p))
            if not found:
                raise UserError("no image file or folder matches {!r}".format(item))
        paths.extend(p for p in found if p not in paths)
    return paths


def _model_last(inputs: List[str]) -> str:
    """The command line a user meant who typed the model first (``predict MODEL IMAGES``), for the error."""
    from ..models.registry import list_presets
    from ..models.source import MODEL_EXTENSIONS

    first, rest = inputs[0], inputs[1:]
    if rest and (first in list_presets() or first.lower().endswith(MODEL_EXTENSIONS)):
        return "{} --model {}".format(" ".join(rest), first)
    return "IMAGES ... --model MODEL"


def run(args: argparse.Namespace) -> int:
    import logging

    from ..data.datasets import SampleFiles
    from ..errors import UserError
    from ..files.atomic import make_folders, remove_empty_folders
    from ..files.checks import Output, check_outputs
    from ..models.source import ModelSource
    from ..prediction.predict import open_model

    log = logging.getLogger("edge_saliency")
    if args.model is None:
        raise UserError("predict takes the model as --model, as run does: edge-saliency predict {}".format(
            _model_last(args.inputs)))
    if not 0 <= args.alpha <= 1:
        raise UserError("--alpha must be between 0 and 1, got {}".format(args.alpha))
    paths = collect_images(args.inputs)
    names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError("several inputs are named {} (outputs are OUT/NAME.png); predict them into separate "
                        "--out folders".format(", ".join(duplicates[:3])))
    source = ModelSource.parse(args.model, args.weights)
    outputs = [Output(os.path.join(args.out, name + ".png"), "saliency map") for name in names]
    if args.overlay:
        outputs += [Output(os.path.join(args.out, name + "_overlay.jpg"), "overlay") for name in names]
    check_outputs(outputs, paths + source.inputs())  # before anything is loaded or written
    files = [SampleFiles(name, path) for name, path in zip(names, paths)]
    by_name = dict(zip(names, paths))
    written = 0
    skipped: List[str] = []

    def skip(sample: SampleFiles, reason: str) -> None:
        log.warning("skipping %s: %s", sample.image, reason)
        skipped.append(sample.image)

    created: List[str] = []
    try:
        with open_model(source, input_size=args.input_size, backend=args.backend, device=args.device,
                        precision=args.precision) as opened:
            log.info("%s", opened.describe())
            created = make_folders(args.out)
            written = _write_maps(args, opened, files, by_name, skip)
    finally:
        if not written:  # a run that wrote no map leaves no folder behind
            remove_empty_folders(created)
    print("wrote {} saliency map{}{} to {}".format(written, "" if written == 1 else "s",
                                                   " and overlays" if args.overlay else "", args.out))
    if skipped:
        print("skipped {} unreadable file{} (exit status {}): {}".format(
            len(skipped), "" if len(skipped) == 1 else "s", INPUT_SKIPPED, ", ".join(skipped)))
        return INPUT_SKIPPED
    return 0


def _write_maps(args: argparse.Namespace, opened: Any, files: List[Any], by_name: Dict[str, str],
                skip: Callable[[Any, str], None]) -> int:
    """Each readable image's map (and overlay) written atomically into ``args.out``; returns how many."""
    import logging

    import cv2

    from ..files.atomic import atomic_write_bytes
    from ..maths.postprocess import overlay
    from ..prediction.predict import predict_files

    log = logging.getLogger("edge_saliency")
    written = 0
    for item in predict_files(opened, files, args.batch_size, args.workers, args.sigma, map_size=args.map_size,
                              skip=skip):
        name = item["name"]
        ok, png = cv2.imencode(".png", item["saliency"])
        assert ok
        atomic_write_bytes(os.path.join(args.out, name + ".png"), png.tobytes())
        if args.overlay:
            image = cv2.imread(by_name[name], cv2.IMREAD_COLOR)
            ok, jpg = cv2.imencode(".jpg", overlay(image, item["saliency"], args.alpha, args.colormap),
                                   [cv2.IMWRITE_JPEG_QUALITY, 92])
            assert ok
            atomic_write_bytes(os.path.join(args.out, name + "_overlay.jpg"), jpg.tobytes())
        written += 1
        log.debug("%s -> %s", by_name[name], os.path.join(args.out, name + ".png"))
    return written
