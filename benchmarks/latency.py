"""The committed latency / accuracy tables: ``edge-saliency bench`` on the headline model and on emlnet-lite,
with the settings recorded below, then one summary table with the ONNX Runtime / PyTorch ratios.

    python benchmarks/latency.py                    # both runs (about 30 minutes on 2 CPU cores)
    python benchmarks/latency.py --only lite        # one of them: headline | lite
    python benchmarks/latency.py --render           # rebuild the .csv / .md / .png and the summary from the JSON

Each run writes ``benchmarks/results/latency_cpu_<name>.{json,csv,md,png}``; the summary is
``benchmarks/results/latency_cpu.md``. The headline model has random weights (no trained DenseNet-161 /
NASNet-Large EML-Net weights exist; latency does not depend on the weights), so it gets few iterations: one
fp32 forward at 480x640 takes seconds on a CPU. ONNX exports go to bench-models/ and are reused.
"""
import argparse
import os
import subprocess
import sys
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
RESULTS = os.path.join(HERE, "results")

COMMON = ["--backend", "onnxruntime", "torch", "tensorrt", "--precision", "all", "--size", "256x320", "480x640",
          "--work-dir", "bench-models"]  # relative to the repository root, where the commands run
RUNS: Dict[str, List[str]] = {
    # one fp32 forward at 480x640 takes ~4 s here: 2 warm-up + 10 timed iterations per cell
    "headline": ["emlnet-densenet161-nasnetlarge", "--warmup", "2", "--iterations", "10", "--accuracy-frames", "4",
                 "--stage-frames", "3", "--pipeline-frames", "4"],
    # the real ImageNet EfficientNet-Lite0 backbone (random readout head): the defaults
    "lite": ["emlnet-lite", "--pretrained", "--warmup", "10", "--iterations", "100", "--accuracy-frames", "8",
             "--stage-frames", "30", "--pipeline-frames", "60"],
}


def prefix(name: str) -> str:
    return os.path.join(RESULTS, "latency_cpu_" + name)


def summary(names: List[str]) -> str:
    """ONNX Runtime (each precision) vs PyTorch fp32, per model and size, from the runs' JSON files."""
    from edge_saliency.bench.report import environment_lines, ratio_p50
    from edge_saliency.bench.schema import load_result

    lines = ["# CPU latency: ONNX Runtime vs PyTorch", "",
             "Produced by `python benchmarks/latency.py` from the runs below (each links its full table, the "
             "skipped cells with their reasons, the frame-path stages and the plot). p50 / p90 of one frame "
             "(batch 1) in ms; **ORT / PyTorch** = the cell's p50 / PyTorch fp32's p50 at the same size, measured "
             "in the same run (< 1: ONNX Runtime is faster). Accuracy: CC vs the same backend's fp32 (fp32: vs "
             "PyTorch fp32) on real video frames. Other CPU + stolen: CPU cores other processes used and the "
             "hypervisor took from this VM, on average, while the cell ran.", ""]
    for name in names:
        path = prefix(name) + ".json"
        if not os.path.isfile(path):
            continue
        result = load_result(path)
        s = result.settings
        lines += ["## {} ({})".format(s["model"], s["weights"]), "",
                  "[full table](latency_cpu_{0}.md), [plot](latency_cpu_{0}.png), [JSON](latency_cpu_{0}.json), "
                  "[CSV](latency_cpu_{0}.csv); {1} warm-up + {2} timed iterations per cell, {3} threads.".format(
                      name, s["warmup"], s["iterations"], s["threads"]), ""]
        lines += environment_lines(result)
        lines += ["", "| size | backend | precision | p50 ms | p90 ms | frames/s | ORT / PyTorch (p50) | CC | "
                      "pipeline FPS | other CPU + stolen |", "|---|---|---|---|---|---|---|---|---|---|"]
        for cell in result.cells:
            if not cell.ok or not cell.latency_ms:
                continue
            ratio = ratio_p50(result, cell)
            acc = cell.accuracy or {}
            cc = "reference" if acc.get("reference") == "self" else (
                "{:.4f}".format(acc["cc"]) if acc.get("cc") is not None else "")
            lines.append("| {}x{} | {} | {} | {:.1f} | {:.1f} | {:.2f} | {} | {} | {} | {:.2f} + {:.2f} |".format(
                cell.size[0], cell.size[1], cell.backend, cell.precision, cell.latency_ms["p50"],
                cell.latency_ms["p90"], cell.throughput_fps or 0.0,
                "**{:.3f}**".format(ratio) if ratio is not None else "", cc,
                "{:.2f}".format(cell.pipeline["fps"]) if cell.pipeline else "", cell.other_cpu or 0.0,
                cell.steal_cpu or 0.0))
        skipped = sorted({"{} {}: {}".format(c.backend, c.precision, c.reason) for c in result.cells if not c.ok})
        if skipped:
            lines += ["", "Not run here: " + "; ".join(skipped) + "."]
        for warning in result.warnings:
            lines.append("")
            lines.append("Warning: {}".format(warning))
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(RUNS), nargs="+", help="run only these")
    parser.add_argument("--render", action="store_true", help="only rebuild the reports from the JSON files")
    args = parser.parse_args()
    names = args.only or list(RUNS)
    from edge_saliency.bench.report import write_outputs
    from edge_saliency.bench.schema import load_result

    for name in names:
        if args.render:
            if os.path.isfile(prefix(name) + ".json"):
                write_outputs(load_result(prefix(name) + ".json"), prefix(name))
            continue
        command = ["edge-saliency", "bench"] + RUNS[name] + COMMON + ["-o", os.path.relpath(prefix(name), ROOT)]
        print("$ " + " ".join(command), flush=True)
        subprocess.run(command, check=True, cwd=ROOT)
    with open(os.path.join(RESULTS, "latency_cpu.md"), "w", encoding="utf-8") as f:
        f.write(summary(list(RUNS)))
    print("wrote {}".format(os.path.join(RESULTS, "latency_cpu.md")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
