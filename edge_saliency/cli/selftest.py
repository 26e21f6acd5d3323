"""``edge-saliency selftest``: check this install and every inference path on this machine."""
import argparse
import json
from typing import Any

from .common import add_subcommand


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "selftest", run, help="check the install and every inference path here")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from ..prediction.selftest import FAIL, run_selftest

    result = run_selftest()
    checks = result["checks"]
    if args.json:
        print(json.dumps({"environment": result["environment"],
                          "checks": [dataclasses.asdict(c) for c in checks]}, indent=2))
    else:
        env = result["environment"]
        print("edge-saliency selftest on {} ({}), Python {}, ONNX Runtime {}".format(
            env["cpu"], env["machine"], env["python"], env["onnxruntime"]))
        width = max(len(c.name) for c in checks)
        for check in checks:
            print("  [{:4}] {}  {}".format(check.status, check.name.ljust(width), check.detail))
    failed = [c for c in checks if c.status == FAIL]
    if failed and not args.json:
        print("{} check(s) failed".format(len(failed)))
    return 1 if failed else 0
