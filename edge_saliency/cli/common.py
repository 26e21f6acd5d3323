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


def add_precision_arg(parser: argparse.ArgumentParser, default: str = "fp16") -> None:
    parser.add_argument("--precision", choices=("fp32", "fp16", "int8"), default=default,
                        help="fp32, fp16, or int8 (int8 needs the Q/DQ ONNX from calibration); default %(default)s")


def add_shape_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("input shapes (dynamic ONNX only)")
    group.add_argument("--shape", action="append", default=[], metavar="[NAME:]NxCxHxW",
                       help="one fixed shape for a dynamic input (repeat per input)")
    group.add_argument("--min-shape", action="append", default=[], metavar="[NAME:]NxCxHxW")
    group.add_argument("--opt-shape", action="append", default=[], metavar="[NAME:]NxCxHxW")
    group.add_argument("--max-shape", action="append", default=[], metavar="[NAME:]NxCxHxW",
                       help="an optimization profile range (all three per input)")


def add_plugin_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="PATH",
                        help="TensorRT plugin library to load first (default: our BilinearUpsample_TRT plugin when "
                             "the ONNX file has plugin nodes)")
