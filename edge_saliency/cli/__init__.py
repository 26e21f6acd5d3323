"""The ``edge-saliency`` console script: one parser, one module per subcommand (``edge_saliency.cli.<name>``).

Each subcommand module defines ``register(subparsers)`` (cheap: no heavy imports) and ``run(args) -> int``.
User errors print one line and exit 1, with no traceback (``-v`` shows it).
"""
import argparse
import importlib
import logging
import re
import signal
import sys
from typing import List, Optional

from .._version import __version__
from ..errors import UserError

# module names under edge_saliency.cli, in the order `--help` lists them
SUBCOMMANDS: List[str] = [
    "models",
    "run",
    "sample_clip",
    "convert_official",
    "export",
    "build_plugin",
    "build_engine",
    "export_triton",
    "inspect_artifact",
    "selftest",
    "train",
    "eval",
    "predict",
    "bench",
]

log = logging.getLogger("edge_saliency")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-saliency",
        description="EML-Net visual saliency on live video: export, build engines, run, benchmark.",
    )
    parser.add_argument("--version", action="version", version="edge-saliency {}".format(__version__))
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module("." + name, __name__).register(subparsers)  # type: ignore[attr-defined]
    return parser


# a pair that starts with a minus (``--size -256x320``) is no option; argparse would take it for one
_DASH_PAIR = re.compile(r"-\d+\s*[xX×,]\s*-?\d+")


def _attach_dash_pairs(argv: List[str]) -> List[str]:
    """``--flag -256x320`` → ``--flag=-256x320``, so the flag's own check names the value."""
    out: List[str] = []
    for token in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and _DASH_PAIR.fullmatch(token):
            out[-1] = "{}={}".format(out[-1], token)
        else:
            out.append(token)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_attach_dash_pairs(list(sys.argv[1:] if argv is None else argv)))
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    verbose = getattr(args, "verbose", 0)
    logging.basicConfig(
        level=logging.DEBUG if verbose > 0 else logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
        format="%(message)s",
    )
    if hasattr(signal, "SIGXFSZ"):
        # past the file size limit (ulimit -f) a write should fail with EFBIG, which is reported as one line with
        # the file's name and nothing half-written, instead of the signal killing the process mid-write
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        if verbose > 0:
            log.exception("details")
        print("edge-saliency: error: {}".format(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("edge-saliency: interrupted", file=sys.stderr)
        return 130
