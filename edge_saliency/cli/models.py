"""``edge-saliency models``: the presets (with parameters and GMACs) and the encoders of the registry."""
import argparse
import json
from typing import Any, Dict, List, Optional

from ..errors import UserError
from ..models.registry import get_encoder_spec, get_preset, list_encoders, list_presets
from .common import add_subcommand


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "models", run, help="list model presets and encoders")
    parser.add_argument("filter", nargs="*", metavar="PATTERN",
                        help="only names matching these shell-style patterns, e.g. 'emlnet-*' or '*lite*' (quote them)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument(
        "--no-complexity", action="store_true", help="skip parameter and GMAC counts (they need torch)"
    )


def _complexity(name: str) -> Optional[Dict[str, Any]]:
    try:
        from ..models.complexity import model_complexity
    except ImportError:  # torch / timm not installed: the base install on a deployed board
        return None
    config = get_preset(name)
    params, macs = model_complexity(config)
    return {"params_m": params / 1e6, "gmacs": macs / 1e9, "at": "{}x{}".format(*config.input_size)}


def _table(rows: List[List[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    preset_names, encoder_names = list_presets(args.filter), list_encoders(args.filter)
    if args.filter and not preset_names and not encoder_names:
        raise UserError("no preset or encoder matches {}; presets: {}; encoders: {}".format(
            " ".join(args.filter), ", ".join(list_presets()), ", ".join(list_encoders())))
    presets: List[Dict[str, Any]] = []
    for name in preset_names:
        config = get_preset(name)
        entry: Dict[str, Any] = {
            "name": name,
            "encoders": ["{}({})".format(e.encoder, e.weights) for e in config.encoders],
            "decoder": "fusion, {}".format(config.decoder.resize_mode) if config.decoder else "stage-1 head",
        }
        if not args.no_complexity:
            entry["complexity"] = _complexity(name)
        presets.append(entry)
    encoders: List[Dict[str, Any]] = []
    for name in encoder_names:
        spec = get_encoder_spec(name)
        encoders.append({
            "name": name,
            "taps": list(spec.tap_names),
            "channels": list(spec.channels),
            "strides": list(spec.strides),
            "readout": "conv{0}x{0}+bn+{1}".format(spec.readout_kernel, spec.readout_activation),
            "mean": list(spec.mean),
            "std": list(spec.std),
            "weights": spec.weight_sources(),
        })
    if args.json:
        print(json.dumps({"presets": presets, "encoders": encoders}, indent=2))
        return 0

    rows = [["preset", "encoders", "decoder", "params", "GMACs"]]
    missing_torch = False
    for p in presets:
        c = p.get("complexity")
        missing_torch |= "complexity" in p and c is None
        rows.append([
            p["name"], " + ".join(p["encoders"]), p["decoder"],
            "{:.1f} M".format(c["params_m"]) if c else "n/a",
            "{:.1f} @ {}".format(c["gmacs"], c["at"]) if c else "n/a",
        ])
    if presets:
        print(_table(rows))
    if missing_torch:
        print('(parameter and GMAC counts need torch: pip install "edge-saliency[export]")')
    if presets and encoders:
        print()
    rows = [["encoder", "taps (channels / stride)", "readout", "weights"]]
    for e in encoders:
        taps = ", ".join("{} {}/{}".format(t, c, s) for t, c, s in zip(e["taps"], e["channels"], e["strides"]))
        rows.append([e["name"], taps, e["readout"], ", ".join(sorted(e["weights"]))])
    if encoders:
        print(_table(rows))
    return 0
