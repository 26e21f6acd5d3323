"""``edge-saliency export``: PyTorch model → checked fp32 / fp16 / int8 ONNX; ``--check FILE`` re-checks one."""
import argparse
import json
import logging
import os
from typing import Any, Optional

from ..errors import UserError
from ..export.options import (  # standard library only: cheap enough for register()
    CALIBRATION_METHODS,
    DEFAULT_CALIBRATION_FRAMES,
    DEFAULT_CALIBRATION_METHOD,
    DEFAULT_OPSET,
    DEFAULT_PERCENTILE,
    KEEP_FLOAT_STRIDE,
    ExportOptions,
)
from ..vocabulary import expand_precisions
from .common import (
    add_export_weights_arguments,
    add_precision_argument,
    add_shape_arguments,
    add_subcommand,
    add_upsample_argument,
    backbone_weights,
)

log = logging.getLogger("edge_saliency")

DESCRIPTION = """Export an EML-Net model to ONNX (opset 17+, input 'image' N×3×H×W RGB in [0, 1], output
'saliency'), simplify it, check it against PyTorch on real photos and random input, and derive fp16 and
int8 (explicit Q/DQ) files from it. OUTPUT is the fp32 file; fp16/int8 go beside it as OUTPUT-fp16.onnx /
OUTPUT-int8.onnx, with a sidecar JSON each and an accuracy report (OUTPUT.accuracy.json / .md). Without
--weights / --pretrained / a saved .safetensors model the weights are random."""


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "export", run, help="export a model to checked fp32/fp16/int8 ONNX",
                            description=DESCRIPTION)
    parser.add_argument("model", nargs="?",
                        help="a preset name (see 'edge-saliency models'), a config .json or a saved .safetensors model")
    parser.add_argument("-o", "--output", help="the fp32 .onnx path (default: <model>-<H>x<W>.onnx)")
    parser.add_argument("--check", metavar="ONNX", help="only re-run the parity check of an exported ONNX file")
    add_export_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the accuracy report as JSON")


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of :class:`~edge_saliency.export.options.ExportOptions` (read back by :func:`export_options`)."""
    add_precision_argument(parser, many=True)
    add_shape_arguments(parser)
    add_upsample_argument(parser)
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                        help="ONNX opset, 17 or newer (default: %(default)s)")
    parser.add_argument("--no-simplify", action="store_true", help="skip onnx-simplifier")
    parser.add_argument("--eval", metavar="SOURCE",
                        help="held-out frames for parity and the report: a folder of images or a video "
                             "(default: scikit-image photos)")
    add_export_weights_arguments(parser)
    calib = parser.add_argument_group("int8 calibration")
    calib.add_argument("--calib", metavar="SOURCE",
                       help="calibration frames: a folder of images, a video file, a dataset root (with "
                            "--calib-split), or 'photos' (built-in scikit-image photos; the default)")
    calib.add_argument("--calib-split", metavar="SPLIT", help="dataset split: ROOT/images/SPLIT (SALICON layout)")
    calib.add_argument("--calib-frames", type=int, default=DEFAULT_CALIBRATION_FRAMES, metavar="N",
                       help="at most N frames, taken evenly (default: %(default)s; warns below 100)")
    calib.add_argument("--calib-method", choices=CALIBRATION_METHODS, default=DEFAULT_CALIBRATION_METHOD,
                       help="default: %(default)s")
    calib.add_argument("--percentile", type=float, default=DEFAULT_PERCENTILE, help="for --calib-method percentile")
    calib.add_argument("--calib-cache", metavar="DIR",
                       help="calibration cache folder (default: ~/.cache/edge-saliency/calibration)")
    calib.add_argument("--keep-float-stride", type=int, default=KEEP_FLOAT_STRIDE, metavar="S",
                       help="leave convolutions at stride <= S unquantized (default: %(default)s; 0: none)")


def export_options(args: argparse.Namespace) -> ExportOptions:
    """The :class:`~edge_saliency.export.options.ExportOptions` the arguments of :func:`add_export_arguments`
    ask for, validated."""
    options = ExportOptions(
        precisions=expand_precisions(args.precision), input_size=args.size,
        dynamic=args.dynamic, upsample=args.upsample, opset=args.opset, simplify=not args.no_simplify,
        weights=args.weights, pretrained=args.pretrained, backbone_weights=backbone_weights(args.backbone_weights),
        seed=args.seed, calibration=args.calib, calibration_split=args.calib_split,
        calibration_frames=args.calib_frames, calibration_method=args.calib_method, percentile=args.percentile,
        calibration_cache_dir=args.calib_cache, eval_frames=args.eval, keep_float_stride=args.keep_float_stride)
    options.validate()
    return options


def _default_output(model: str, size: Optional[Any]) -> str:
    name = os.path.splitext(os.path.basename(model))[0]
    h, w = size if size else (480, 640)
    return "{}-{}x{}.onnx".format(name, h, w)


def run(args: argparse.Namespace) -> int:
    from ..export import check_onnx, export_model  # imports torch

    if args.check:
        result = check_onnx(args.check, eval_frames=args.eval)
        worst = result["worst"]
        exact = ", max abs vs float64 {:.3g} (PyTorch float32's: {:.3g})".format(
            worst["error"], worst["rounding"]) if "error" in worst else ""
        print("{}: {} parity {} (max abs {:.3g}, mean abs {:.3g}, min CC {:.6f}{}; tolerance {})".format(
            args.check, result["precision"], "passed" if result["passed"] else "FAILED (not enforced)",
            worst["max_abs"], worst["mean_abs"], worst["cc"], exact, result["tolerance"]))
        return 0
    if not args.model:
        raise UserError("give a model (preset, config .json or saved .safetensors), or --check FILE.onnx")
    options = export_options(args)
    output = args.output or _default_output(args.model, args.size)
    result = export_model(args.model, output, options)
    if args.json:
        print(json.dumps({p: {k: v for k, v in row.items() if k != "per_frame"} for p, row in result.report.items()},
                         indent=2, sort_keys=True))
        return 0
    for path in result.files.values():
        print("wrote {} ({:.1f} MB)".format(path, os.path.getsize(path) / 1e6))
    print("report: {} / {}".format(*result.report_paths))
    print()
    print(result.markdown)
    return 0
