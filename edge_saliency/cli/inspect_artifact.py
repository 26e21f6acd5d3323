"""``edge-saliency inspect``: what an ONNX file or engine is, and whether it runs on this machine."""
import argparse
import json
import os
from typing import Any, Dict, List

from .common import add_subcommand


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "inspect", run, help="show an ONNX file's or engine's sidecar, I/O and layers")
    parser.add_argument("artifacts", nargs="+", metavar="ARTIFACT",
                        help=".onnx, .engine, or an ONNX Runtime artifact (.ort.onnx); a sidecar .json names its file")
    parser.add_argument("--layers", action="store_true", help="with TensorRT: the engine inspector's layer table")
    parser.add_argument("--allow-host-code", action="store_true", help="accept a version-compatible engine")
    parser.add_argument("--tensorrt", nargs="?", const="all", metavar="VERSION",
                        help="ONNX files: what TensorRT would reject or treat differently, node by node, for VERSION "
                             "(8.5, 8.6, 10.x, 11.x, or e.g. 10.3; default: all of them). Exit status 1 when "
                             "a version rejects the file")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _tensors(tensors: Any) -> str:
    return ", ".join("{} {} {}".format(t["name"], "x".join(str(d) if d >= 0 else "?" for d in t["shape"]),
                                       t["dtype"]) for t in tensors)


def _artifacts(paths: List[str]) -> List[str]:
    """The files to inspect: a sidecar stands for its artifact (so a glob over a cache folder works), once each."""
    seen: List[str] = []
    for path in paths:
        if path.endswith(".json") and os.path.isfile(path[:-len(".json")]):
            path = path[:-len(".json")]
        if path not in seen:
            seen.append(path)
    return seen


def run(args: argparse.Namespace) -> int:
    from ..engine.inspect import inspect_artifact

    reports = []
    for path in _artifacts(args.artifacts):
        reports.append((path, inspect_artifact(path, layers=args.layers, allow_host_code=args.allow_host_code,
                                               tensorrt=args.tensorrt)))
    rejected = any(r.get("tensorrt", {}).get("errors") for _, r in reports)
    if args.json:
        data = [report for _, report in reports]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2, default=str))
        return 1 if rejected else 0
    for path, report in reports:
        _print(path, report)
    return 1 if rejected else 0


def _print(path: str, report: Dict[str, Any]) -> None:
    print("{}: {}".format(report["kind"], path))
    for key in ("model", "precision", "built_from", "backend", "target", "built", "compatible", "plugin_nodes",
                "opset", "onnxruntime_nodes"):
        if report.get(key) is not None:
            print("  {:13} {}".format(key.replace("onnxruntime_nodes", "ORT-only").replace("_", " "), report[key]))
    print("  {:13} {}".format("inputs", _tensors(report["inputs"])))
    print("  {:13} {}".format("outputs", _tensors(report["outputs"])))
    rules = report.get("tensorrt")
    if rules:
        print("  {:13} {}".format("TensorRT", ", ".join("{} {}".format(v, r) for v, r in rules["versions"].items())))
        for line in rules["errors"] + rules["warnings"] + rules["notes"]:
            print("    {}".format(line))
    if report.get("layers"):
        print("  layers ({}):".format(len(report["layers"])))
        for layer in report["layers"]:
            print("    {}".format(layer))
