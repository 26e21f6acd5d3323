"""Argument groups shared by several subcommands."""
import argparse
from typing import Any


def add_subcommand(subparsers: Any, name: str, run: Any, help: str, description: str = "") -> argparse.ArgumentParser:
    """A subcommand parser with the shared logging options; ``run(args)`` is called for it."""
    parser = subparsers.add_parser(name, help=help, description=description or help)
    group = parser.add_argument_group("logging")
    group.add_argument("-v", "--verbose", action="count", default=0, help="more detail; tracebacks on errors")
    group.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    parser.set_defaults(func=run)
    return parser


PRECISIONS = ("fp32", "fp16", "int8")


def add_shape_arguments(parser: argparse.ArgumentParser, what: str = "model input") -> argparse._ArgumentGroup:
    """``--size H W`` and ``--dynamic`` (dynamic batch and H×W)."""
    group = parser.add_argument_group("shapes")
    group.add_argument("--size", nargs=2, type=int, metavar=("H", "W"),
                       help="{} height and width, multiples of 32 (default: the model's, 480 640)".format(what))
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
