"""Argument groups shared by several subcommands."""
import argparse
import re
from typing import Any, Dict, Optional, Sequence, Tuple

from ..errors import UserError
from ..vocabulary import PRECISIONS


def add_subcommand(subparsers: Any, name: str, run: Any, help: str, description: str = "") -> argparse.ArgumentParser:
    """A subcommand parser with the shared logging options; ``run(args)`` is called for it."""
    parser = subparsers.add_parser(name, help=help, description=description or help)
    group = parser.add_argument_group("logging")
    group.add_argument("-v", "--verbose", action="count", default=0, help="more detail; tracebacks on errors")
    group.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    parser.set_defaults(func=run)
    return parser


# the exit status of a command that finished its work but skipped input it could not read (an unreadable image, a
# video cut short): the outputs are complete for the rest, and scripts can tell (docs/reliability.md)
INPUT_SKIPPED = 3


def parse_pair(text: str, flag: str = "--size", example: str = "480x640", hint: str = "") -> Tuple[int, int]:
    """``"480x640"`` (also ``480,640`` / ``480×640``) → (480, 640); an argparse error naming ``flag`` otherwise
    (argparse puts "argument FLAG:" before it), saying what is wrong, ``hint`` after it."""
    match = re.fullmatch(r"\s*(-?\d+)\s*[xX×,]\s*(-?\d+)\s*", text or "")
    if not match:
        raise argparse.ArgumentTypeError("{} must look like {}, got {!r}{}".format(flag, example, text, hint))
    first, second = int(match.group(1)), int(match.group(2))
    if min(first, second) < 1:
        raise argparse.ArgumentTypeError("got {!r}: both numbers must be positive, e.g. {}{}".format(
            text.strip(), example, hint))
    return first, second


def parse_size(text: str) -> Tuple[int, int]:
    """A model input size ``HxW`` (height × width), the form every command's ``--size`` takes."""
    return parse_pair(text, "--size", "480x640", "; EML-Net sizes are multiples of 32 (e.g. 256x320)")


def parse_device_arg(text: str) -> str:
    """``--device``: auto, cpu, cuda or cuda:N (:mod:`edge_saliency.devices`), as an argparse type."""
    from ..devices import check_device

    try:
        return check_device(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_device_argument(parser: Any, what: str = "ONNX Runtime / PyTorch device") -> None:
    """``--device`` with the one vocabulary every command shares."""
    from ..devices import DEVICE_HELP

    parser.add_argument("--device", type=parse_device_arg, default="auto", metavar="DEVICE",
                        help="{}: {}. Default %(default)s".format(what, DEVICE_HELP))


def add_model_arguments(parser: argparse.ArgumentParser, what: str = "the model", many: bool = False,
                        option: bool = False) -> None:
    """MODEL (any kind: a preset or config .json with --weights, a .safetensors, an .onnx, an ONNX Runtime
    artifact, a TensorRT engine; several with ``many``), the backend, input size and device. ``option``: the
    model is ``--model/-m MODEL`` (commands that run a model over inputs, as ``run``) instead of the first
    positional argument (commands that act on the model itself)."""
    kinds = ("a preset name or config .json (with --weights), a .safetensors saved by edge-saliency, an .onnx "
             "(fp32, fp16, int8), an ONNX Runtime artifact or a TensorRT engine")
    group = parser.add_argument_group("model")
    if option:
        # checked by the command, to say how the model is given when someone types it first, as `eval MODEL`
        group.add_argument("--model", "-m", metavar="MODEL", help="{} (required): {}".format(what, kinds))
    elif many:
        parser.add_argument("model", nargs="+", metavar="MODEL",
                            help="{}: {}; several are scored on the same images and compared".format(what, kinds))
    else:
        parser.add_argument("model", metavar="MODEL", help="{}: {}".format(what, kinds))
    group.add_argument("--weights", metavar="FILE",
                       help="weights for a preset or config MODEL (.safetensors, or a weights-only torch file); a "
                            ".safetensors saved by edge-saliency also gives the size it was trained at")
    group.add_argument("--size", dest="input_size", type=parse_size, metavar="HxW",
                       help="resize images to this (multiples of 32); default: the model's own (an ONNX file's "
                            "export size, the size saved with the weights, the config's)")
    group.add_argument("--backend", choices=("auto", "onnxruntime", "tensorrt", "torch"), default="auto",
                       help="auto: by the model (engine: tensorrt; .onnx: tensorrt with TensorRT and a GPU, else "
                            "onnxruntime; .safetensors / preset: torch). Default %(default)s")
    group.add_argument("--precision", choices=PRECISIONS,
                       help="PyTorch models: fp32 (default) or fp16 (CUDA); an .onnx on TensorRT: the engine's "
                            "(default: the ONNX file's). ONNX files and engines otherwise run as they are")
    add_device_argument(group)
    group.add_argument("--batch-size", type=int, default=4, metavar="N", help="images per forward pass (default 4)")
    group.add_argument("--workers", type=int, default=2, metavar="N",
                       help="image-decoding threads (default 2; 0 decodes in the main thread)")


def add_dataset_arguments(
    parser: argparse.ArgumentParser, split: Optional[str] = "val", required: bool = True
) -> Any:
    """--data ROOT, --layout and --split (the layouts of docs/datasets.md; see edge_saliency.data.datasets)."""
    from ..data.datasets import LAYOUTS  # pure Python

    group = parser.add_argument_group("dataset")
    group.add_argument("--data", metavar="ROOT", required=required,
                       help="dataset folder (SALICON, MIT1003, CAT2000 or images/ maps/ fixations/ folders)")
    group.add_argument("--layout", choices=LAYOUTS, default=None, help="dataset layout (default: auto-detect)")
    if split is not None:
        group.add_argument("--split", default=split,
                           help="split: a folder under images/ (SALICON: train, val), or all / train / val for "
                                "datasets without split folders (every 10th image is val); default " + split)
    return group


def add_shape_arguments(parser: argparse.ArgumentParser, what: str = "model input") -> argparse._ArgumentGroup:
    """``--size H W`` and ``--dynamic`` (dynamic batch and H×W)."""
    group = parser.add_argument_group("shapes")
    group.add_argument("--size", type=parse_size, metavar="HxW",
                       help="{} height x width, multiples of 32 (default: the model config's input size: 480x640 for a "
                            "preset, the size a saved .safetensors or config .json holds)".format(what))
    group.add_argument("--dynamic", action="store_true", help="dynamic batch, height and width")
    return group


def add_precision_argument(parser: Any, many: bool = False, default: str = "fp32") -> None:
    """``--precision`` (one value, or several with ``many``; ``all`` = fp32 fp16 int8)."""
    if many:
        parser.add_argument("--precision", nargs="+", choices=PRECISIONS + ("all",), default=[default],
                            metavar="P", help="one or more of fp32, fp16, int8, or all (default: %(default)s)")
    else:
        parser.add_argument("--precision", choices=PRECISIONS, default=default, help="default: %(default)s")


def add_upsample_argument(parser: Any) -> None:
    parser.add_argument("--upsample", choices=("native", "plugin"), default="native",
                        help="bilinear upsampling as standard ONNX Resize (native) or as BilinearUpsample_TRT "
                             "nodes for our TensorRT plugin (default: %(default)s)")


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    """``--shape`` / ``--min-shape`` / ``--opt-shape`` / ``--max-shape`` for engines of dynamic ONNX files."""
    group = parser.add_argument_group("input shapes (dynamic ONNX only)")
    group.add_argument("--shape", action="append", default=[], metavar="[NAME:]NxCxHxW",
                       help="one fixed shape for a dynamic input (repeat per input)")
    group.add_argument("--min-shape", action="append", default=[], metavar="[NAME:]NxCxHxW")
    group.add_argument("--opt-shape", action="append", default=[], metavar="[NAME:]NxCxHxW")
    group.add_argument("--max-shape", action="append", default=[], metavar="[NAME:]NxCxHxW",
                       help="an optimization profile range (all three per input)")


def add_plugin_argument(parser: Any) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="PATH",
                        help="TensorRT plugin library to load first (default: our BilinearUpsample_TRT plugin when "
                             "the ONNX file has plugin nodes)")


def add_export_weights_arguments(parser: argparse.ArgumentParser) -> None:
    """The weights of a preset / config model on its way to ONNX: --weights, --pretrained, --backbone-weights,
    --seed (export, bench)."""
    weights = parser.add_argument_group("weights (default: random)")
    weights.add_argument("--weights", help="a full-model state dict (.safetensors, or a torch file)")
    weights.add_argument("--pretrained", action="store_true",
                         help="trained backbones (installed EfficientNet-Lite0 package, or timm downloads)")
    weights.add_argument("--backbone-weights", nargs="+", default=[], metavar="KEY=PATH",
                         help="backbone checkpoint per encoder key, e.g. densenet161=densenet161_places365.pth.tar")
    weights.add_argument("--seed", type=int, default=0, help="seed for random weights (default: %(default)s)")


def backbone_weights(values: Sequence[str]) -> Dict[str, str]:
    """``["densenet161=file.pth.tar"]`` → ``{"densenet161": "file.pth.tar"}``."""
    out = {}
    for value in values:
        key, sep, path = value.partition("=")
        if not sep or not key or not path:
            raise UserError("--backbone-weights takes KEY=PATH, got {!r}".format(value))
        out[key] = path
    return out
