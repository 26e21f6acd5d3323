"""``edge-saliency inspect``: what an ONNX file or engine is, and whether it runs on this machine."""
import argparse
import json
from typing import Any, Dict

from .common import add_subcommand


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "inspect", run, help="show an ONNX file's or engine's sidecar, I/O and layers")
    parser.add_argument("artifact", help=".onnx, .engine, or an ONNX Runtime artifact (.ort.onnx)")
    parser.add_argument("--layers", action="store_true", help="with TensorRT: the engine inspector's layer table")
    parser.add_argument("--allow-host-code", action="store_true", help="accept a version-compatible engine")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _tensors(tensors: Any) -> str:
    return ", ".join("{} {} {}".format(t["name"], "x".join(str(d) if d >= 0 else "?" for d in t["shape"]),
                                       t["dtype"]) for t in tensors)


def run(args: argparse.Namespace) -> int:
    from ..engine.inspect import inspect_artifact

    report: Dict[str, Any] = inspect_artifact(args.artifact, layers=args.layers, allow_host_code=args.allow_host_code)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    print("{}: {}".format(report["kind"], args.artifact))
    for key in ("model", "precision", "backend", "target", "built", "compatible", "plugin_nodes", "opset"):
        if report.get(key) is not None:
            print("  {:13} {}".format(key, report[key]))
    print("  {:13} {}".format("inputs", _tensors(report["inputs"])))
    print("  {:13} {}".format("outputs", _tensors(report["outputs"])))
    if report.get("layers"):
        print("  layers ({}):".format(len(report["layers"])))
        for layer in report["layers"]:
            print("    {}".format(layer))
    return 0
