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
