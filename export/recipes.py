#!/usr/bin/env python
"""Reproducible export recipes: one row per model preset × precision, each a call into the library.

    python export/recipes.py --list
    python export/recipes.py emlnet-lite int8                       # engines/emlnet-lite-480x640[-int8].onnx
    python export/recipes.py emlnet-lite fp16 --size 96x128 -o /tmp/out
    python export/recipes.py emlnet-densenet161-nasnetlarge int8 --weights trained.safetensors --calib frames/

Weights are RANDOM unless you pass a checkpoint: ``--weights`` (a full-model state dict for the preset) or
``--model`` (a model saved with ``edge_saliency.save_model``, config included). Random weights give the
real graph, shapes and speed, not real saliency; their fp16/int8 parity gates only warn. INT8 calibrates
on ``--calib`` (a folder of images, a video, a dataset root with ``--calib-split``), or on the built-in
scikit-image photos when none is given (fewer than 100 frames: a warning). Every recipe runs on a fresh
machine after ``pip install -e ".[dev]"``; arguments after ``--`` go to ``edge-saliency export`` as is.
"""
import argparse
import os
import sys
from typing import Dict, List, Tuple

from edge_saliency.cli.common import parse_size

# (preset, precision) -> export options. The fp32 file is always written too (the reference).
RECIPES: Dict[Tuple[str, str], Dict[str, object]] = {
    ("emlnet-densenet161-nasnetlarge", "fp32"): {"size": (480, 640)},
    ("emlnet-densenet161-nasnetlarge", "fp16"): {"size": (480, 640)},
    ("emlnet-densenet161-nasnetlarge", "int8"): {"size": (480, 640), "calib_method": "minmax"},
    # the official model resizes to a fixed 480×640 (nearest): no plugin nodes, static shapes
    ("emlnet-resnet50-official", "fp32"): {"size": (480, 640)},
    ("emlnet-resnet50-official", "fp16"): {"size": (480, 640)},
    ("emlnet-resnet50-official", "int8"): {"size": (480, 640), "calib_method": "minmax"},
    ("emlnet-lite", "fp32"): {"size": (480, 640)},
    ("emlnet-lite", "fp16"): {"size": (480, 640)},
    ("emlnet-lite", "int8"): {"size": (480, 640), "calib_method": "minmax"},
}


def command(preset: str, precision: str, args: argparse.Namespace, passthrough: List[str]) -> List[str]:
    recipe = RECIPES[(preset, precision)]
    h, w = args.size or recipe["size"]  # type: ignore[misc]
    name = "{}-{}x{}{}.onnx".format(preset, h, w, "-{}".format(args.upsample) if args.upsample == "plugin" else "")
    argv = ["export", args.model or preset, "--size", "{}x{}".format(h, w), "--precision", precision,
            "-o", os.path.join(args.output, name), "--upsample", args.upsample]
    if args.weights:
        argv += ["--weights", args.weights]
    if precision == "int8":
        argv += ["--calib-method", str(recipe["calib_method"])]
        if args.calib:
            argv += ["--calib", args.calib]
        if args.calib_split:
            argv += ["--calib-split", args.calib_split]
    return argv + passthrough


def main(argv: List[str]) -> int:
    passthrough: List[str] = []
    if "--" in argv:
        argv, passthrough = argv[: argv.index("--")], argv[argv.index("--") + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", nargs="?")
    parser.add_argument("precision", nargs="?", choices=("fp32", "fp16", "int8"))
    parser.add_argument("--list", action="store_true", help="list the recipes")
    parser.add_argument("-o", "--output", default="engines", help="output folder (default: engines/, git-ignored)")
    parser.add_argument("--size", type=parse_size, metavar="HxW", help="override the recipe's input size")
    parser.add_argument("--upsample", choices=("native", "plugin"), default="native")
    parser.add_argument("--weights", help="full-model state dict for the preset (default: random weights)")
    parser.add_argument("--model", help="a saved .safetensors model to export instead of the preset's config")
    parser.add_argument("--calib", help="int8 calibration frames (default: built-in photos)")
    parser.add_argument("--calib-split", help="dataset split for --calib")
    args = parser.parse_args(argv)
    if args.list or not args.preset:
        for (preset, precision), recipe in RECIPES.items():
            print("{:32s} {:5s} {}".format(preset, precision, recipe))
        return 0
    if (args.preset, args.precision) not in RECIPES:
        parser.error("no recipe for {} {}; see --list".format(args.preset, args.precision))
    from edge_saliency.cli import main as cli

    argv = command(args.preset, args.precision, args, passthrough)
    print("edge-saliency " + " ".join(argv))
    return cli(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
