"""Benchmark outputs: JSON, CSV, a markdown table, a PNG plot, and the ratio table between two runs.

``write_outputs(result, "bench/orin")`` writes ``bench/orin.json`` (:mod:`.schema`), ``.csv`` (one row per
cell), ``.md`` (tables ready to paste into an issue) and ``.png`` (latency by cell: p50 bars with whiskers to
p99 and a tick at p90; accuracy vs the reference as a second panel). The PNG needs matplotlib
(``pip install "edge-saliency[bench]"``); without it the other three are written and the markdown says so.
All files appear together or not at all.

Ratios: ``ratio_p50`` = the cell's p50 latency / the baseline cell's (``--baseline``, default torch fp32) at
the same size and batch — below 1 the cell is faster. :func:`compare` divides run B by run A cell by cell.
"""
import contextlib
import csv
import importlib.util
import io
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..files.atomic import atomic_output
from . import source_sizes
from .schema import STAGES, BenchResult, Cell

STAGE_LABELS = {"decode": "decode", "preprocess": "pre-process", "copy_in": "copy-in", "infer": "infer",
                "copy_out": "copy-out", "postprocess": "post-process"}
NO_PLOT = ("PNG plot skipped: matplotlib is not installed (pip install \"edge-saliency[bench]\", or pip install "
           "matplotlib)")


def output_paths(prefix: str) -> Dict[str, str]:
    """``prefix`` (``results/orin`` or ``results/orin.json``) → the four output paths."""
    if prefix.endswith(".json"):
        prefix = prefix[: -len(".json")]
    return {ext: "{}.{}".format(prefix, ext) for ext in ("json", "csv", "md", "png")}


def baseline_cell(result: BenchResult, cell: Cell) -> Optional[Cell]:
    backend, _, precision = str(result.settings.get("baseline", "torch:fp32")).partition(":")
    for other in result.cells:
        if (other.ok and other.backend == backend and other.precision == precision and other.size == cell.size
                and other.batch == cell.batch):
            return other
    return None


def ratio_p50(result: BenchResult, cell: Cell) -> Optional[float]:
    base = baseline_cell(result, cell)
    if not cell.ok or base is None or not base.latency_ms or not cell.latency_ms or base.latency_ms["p50"] <= 0:
        return None
    return cell.latency_ms["p50"] / base.latency_ms["p50"]


def _f(value: Optional[float], digits: int = 2) -> str:
    return "" if value is None else "{:.{}f}".format(round(value, digits) + 0.0, digits)  # no "-0.0000"


def _acc(cell: Cell, key: str) -> Optional[float]:
    acc = cell.accuracy or {}
    value = acc.get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _other(cell: Cell) -> str:
    """Other processes' CPU during the cell, and the hypervisor's steal when there was any."""
    text = _f(cell.other_cpu)
    if cell.steal_cpu is not None and cell.steal_cpu >= 0.01:
        text += " + {} stolen".format(_f(cell.steal_cpu))
    return text


def _size(cell: Cell) -> str:
    return "{}x{}".format(*cell.size)


# -- CSV -----------------------------------------------------------------------------------------------

CSV_FIELDS = (
    ["id", "backend", "precision", "height", "width", "batch", "status", "reason", "device", "clock", "threads",
     "warmup", "iterations", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "std_ms",
     "throughput_fps", "ratio_p50_vs_baseline", "peak_rss_mib", "device_memory_mib", "reference", "cc", "cc_min",
     "kld", "sim", "nss_agreement"]
    + ["{}_p50_ms".format(s) for s in STAGES]
    + ["pipeline_fps", "pipeline_latency_p50_ms", "other_cpu", "steal_cpu", "load_before", "load_after", "model_file",
       "runner"]
)


def csv_text(result: BenchResult) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for cell in result.cells:
        lat = cell.latency_ms or {}
        row: Dict[str, Any] = {
            "id": cell.id, "backend": cell.backend, "precision": cell.precision, "height": cell.size[0],
            "width": cell.size[1], "batch": cell.batch, "status": cell.status, "reason": cell.reason or "",
            "device": cell.device or "", "clock": cell.clock or "", "threads": cell.threads or "",
            "warmup": cell.warmup, "iterations": cell.iterations,
            "throughput_fps": cell.throughput_fps if cell.throughput_fps is not None else "",
            "ratio_p50_vs_baseline": _blank(ratio_p50(result, cell)),
            "peak_rss_mib": _blank(cell.peak_rss_mib), "device_memory_mib": _blank(cell.device_memory_mib),
            "reference": (cell.accuracy or {}).get("reference") or "",
            "pipeline_fps": _blank((cell.pipeline or {}).get("fps")),
            "pipeline_latency_p50_ms": _blank(((cell.pipeline or {}).get("latency_ms") or {}).get("p50")),
            "other_cpu": _blank(cell.other_cpu), "steal_cpu": _blank(cell.steal_cpu),
            "load_before": _blank(cell.load_1min[0] if cell.load_1min else None),
            "load_after": _blank(cell.load_1min[1] if len(cell.load_1min) > 1 else None),
            "model_file": cell.model_file or "", "runner": cell.runner or "",
        }
        for key in ("mean", "p50", "p90", "p99", "min", "max", "std"):
            row[key + "_ms"] = _blank(lat.get(key))
        for key in ("cc", "cc_min", "kld", "sim", "nss_agreement"):
            row[key] = _blank(_acc(cell, key))
        for stage in STAGES:
            stats = (cell.stages_ms or {}).get(stage)
            row["{}_p50_ms".format(stage)] = _blank(stats["p50"] if stats else None)
        writer.writerow(row)
    return out.getvalue()


def _blank(value: Any) -> Any:
    return "" if value is None else value


# -- markdown ------------------------------------------------------------------------------------------


def environment_lines(result: BenchResult) -> List[str]:
    env = result.environment
    gpu = env.get("gpu")
    lines = ["- machine: {} ({} logical CPUs{}), {}, Python {}".format(
        env.get("cpu"), env.get("cpu_count"), ", governor " + env["cpu_governor"] if env.get("cpu_governor") else "",
        env.get("os"), env.get("python"))]
    lines.append("- GPU: {}; CUDA {}; TensorRT {}; ONNX Runtime {}; PyTorch {}".format(
        "{} (compute {}, driver {})".format(gpu["name"], gpu.get("compute_capability"), gpu.get("driver"))
        if gpu else "none", env.get("cuda") or "none", env.get("tensorrt") or "none",
        env.get("onnxruntime") or "none", env.get("torch") or "none"))
    jetson = env.get("jetson")
    if jetson:
        lines.append("- Jetson: {}, L4T {}, JetPack {}, power mode {}, clocks locked: {}".format(
            jetson.get("model"), jetson.get("l4t"), jetson.get("jetpack"), jetson.get("power_mode"),
            {True: "yes", False: "NO", None: "unknown"}[jetson.get("clocks_locked")]))
    lines.append("- load average (1, 5, 15 min) before: {}; after: {}; niceness {}".format(
        env.get("load_before"), env.get("load_after"), env.get("niceness")))
    return lines


def markdown(result: BenchResult) -> str:
    s = result.settings
    cells = [c for c in result.cells if c.ok]
    lines = ["# edge-saliency bench: {}".format(s.get("model")), ""]
    lines.append("{} with edge-saliency {}: `{}`".format(result.created, result.edge_saliency, result.command)
                 if result.command else "{} with edge-saliency {}".format(result.created, result.edge_saliency))
    lines.append("")
    lines += environment_lines(result)
    lines.append("- model: {}; weights: {}".format(s.get("model"), s.get("weights")))
    lines.append("- per cell: {} warm-up + {} timed iterations of one batch of real frames; threads {} (CPU); video "
                 "{}; {}".format(s.get("warmup"), s.get("iterations"), s.get("threads"), s.get("video"),
                                 s.get("isolation")))
    for warning in result.warnings:
        lines.append("- **warning**: {}".format(warning))
    baseline = str(s.get("baseline", "torch:fp32")).replace(":", " ")
    lines += ["", "## Latency and accuracy", "",
              "| backend | precision | size | batch | device | mean ms | p50 ms | p90 ms | p99 ms | min ms | max ms | "
              "frames/s | p50 × {} | peak RSS MiB | device MiB | CC | KLD | SIM | other CPU |".format(baseline),
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for cell in cells:
        lat = cell.latency_ms or {}
        ref = (cell.accuracy or {}).get("reference")
        acc = ["reference", "", ""] if ref == "self" else [_f(_acc(cell, "cc"), 4), _f(_acc(cell, "kld"), 4),
                                                           _f(_acc(cell, "sim"), 4)]
        values = [cell.backend, cell.precision, _size(cell), str(cell.batch), cell.device or ""]
        values += [_f(lat.get(k)) for k in ("mean", "p50", "p90", "p99", "min", "max")]
        values[6] = "**{}**".format(values[6])  # p50
        values += [_f(cell.throughput_fps), _f(ratio_p50(result, cell), 3), _f(cell.peak_rss_mib, 0),
                   _f(cell.device_memory_mib, 0) or "—"] + acc + [_other(cell)]
        lines.append("| " + " | ".join(values) + " |")
    clocks = sorted({c.clock for c in cells if c.clock})
    lines += ["", "Latency: one batch per iteration on the {} clock (CUDA events time the GPU work from copy-in to "
              "copy-out; perf_counter the whole call on the host); frames/s = batch × iterations / wall time of the "
              "timed loop. p50 × {}: the cell's p50 / that cell's p50 at the same size and batch (< 1: faster). "
              "Accuracy: CC, KLD, SIM of the cell's maps vs the reference cell's on {} real video frames (fp16 / "
              "int8 vs the same backend's fp32; fp32 vs the first fp32 of torch, onnxruntime, tensorrt; MIT "
              "conventions, the reference as the density). Other CPU: cores other processes used on average "
              "while the cell ran, + cores the hypervisor stole (0: the cell had the machine to itself).".format(
                  " / ".join(clocks) or "host", baseline, s.get("accuracy_frames"))]
    refs = sorted({(c.id, c.accuracy["reference"]) for c in cells
                   if c.accuracy and c.accuracy.get("reference") not in (None, "self")})
    if refs:
        lines.append("References: " + "; ".join("{} vs {}".format(a, b) for a, b in refs) + ".")
    others = [c for c in result.cells if not c.ok]
    if others:
        lines += ["", "## Skipped and failed cells", "", "| cell | status | reason |", "|---|---|---|"]
        for cell in others:
            lines.append("| {} | {} | {} |".format(cell.id, cell.status, (cell.reason or "").replace("|", "/")))
    staged = [c for c in cells if c.stages_ms]
    if staged or any(c.pipeline for c in cells):
        lines += ["", "## Frame path", "",
                  "p50 ms per stage over {} frames of the video at its own size, each stage alone, no output "
                  "(copy-in / infer / copy-out per batch, on the cell's clock; `n/a`: inside the backend's call, "
                  "counted in infer), and the streaming pipeline (`edge-saliency run`'s threads) over {} "
                  "frames.".format(
                      s.get("stage_frames"), s.get("pipeline_frames")), "",
                  "| cell | " + " | ".join(STAGE_LABELS[st] for st in STAGES) + " | pipeline FPS | pipeline p50 "
                  "latency ms |", "|---|" + "---|" * (len(STAGES) + 2)]
        for cell in cells:
            stages = cell.stages_ms or {}
            values = [_f(stages[st]["p50"]) if stages.get(st) else ("n/a" if stages else "") for st in STAGES]
            pipe = cell.pipeline or {}
            lines.append("| {} | {} | {} | {} |".format(cell.id, " | ".join(values), _f(pipe.get("fps")),
                                                        _f((pipe.get("latency_ms") or {}).get("p50"), 1)))
    lines += source_sizes.markdown_lines(cells, s.get("stage_frames"))
    return "\n".join(lines) + "\n"


# -- plot ----------------------------------------------------------------------------------------------


def plot_png(result: BenchResult, path: str) -> None:
    """Two panels: latency by cell (p50 bar, whisker p50→p99, tick at p90); CC and SIM vs the reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in result.cells if c.ok and c.latency_ms]
    labels = ["{} {}\n{} b{}".format(c.backend.replace("onnxruntime", "ORT").replace("tensorrt", "TRT"), c.precision,
                                     _size(c), c.batch) for c in cells]
    colors = {"onnxruntime": "#1f77b4", "tensorrt": "#2ca02c", "torch": "#d62728"}
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6.0, 1.1 * len(cells) + 2.0), 8.0),
                                      gridspec_kw={"height_ratios": [3, 2]})
    x = list(range(len(cells)))
    p50 = [c.latency_ms["p50"] for c in cells]  # type: ignore[index]
    p90 = [c.latency_ms["p90"] for c in cells]  # type: ignore[index]
    p99 = [c.latency_ms["p99"] for c in cells]  # type: ignore[index]
    top.bar(x, p50, color=[colors.get(c.backend, "grey") for c in cells], alpha=0.85, label="p50")
    top.errorbar(x, p50, yerr=[[0.0] * len(cells), [max(0.0, b - a) for a, b in zip(p50, p99)]], fmt="none",
                 ecolor="black", capsize=5, label="p50 → p99")
    top.scatter(x, p90, marker="_", s=250, color="black", zorder=3, label="p90")
    log_scale = bool(p50) and max(p99) / max(min(p50), 1e-9) > 30
    if log_scale:
        top.set_yscale("log")
    for xi, value in zip(x, p50):  # the p50 inside its bar, clear of the whiskers
        top.annotate("{:.1f}".format(value) if value < 100 else "{:.0f}".format(value),
                     (xi, (value * min(p50)) ** 0.5 if log_scale else value / 2.0), ha="center", va="center",
                     fontsize=7, color="white", fontweight="bold")
    top.set_ylabel("latency per batch (ms)")
    top.set_xticks(x)
    top.set_xticklabels(labels, fontsize=7)
    env = result.environment
    gpu = (env.get("gpu") or {}).get("name")
    top.set_title("{} ({}) on {}{}\n{} warm-up + {} iterations per cell, {}".format(
        result.settings.get("model"), str(result.settings.get("weights", "")).split(";")[0], env.get("cpu"),
        " + " + gpu if gpu else "", result.settings.get("warmup"), result.settings.get("iterations"),
        result.created[:10]), fontsize=9)
    from matplotlib.patches import Patch

    handles, names = top.get_legend_handles_labels()
    shown = [b for b in ("onnxruntime", "tensorrt", "torch") if any(c.backend == b for c in cells)]
    handles = [h for h, n in zip(handles, names) if n != "p50"] + [Patch(color=colors[b]) for b in shown]
    names = [n for n in names if n != "p50"] + ["{} p50".format(b) for b in shown]
    top.legend(handles, names, fontsize=7, loc="upper left")
    compared = [(i, c) for i, c in enumerate(cells) if _acc(c, "cc") is not None]
    width = 0.38
    if compared:
        bottom.bar([i - width / 2 for i, _ in compared], [_acc(c, "cc") for _, c in compared], width, label="CC",
                   color="#9467bd")
        bottom.bar([i + width / 2 for i, _ in compared], [_acc(c, "sim") for _, c in compared], width, label="SIM",
                   color="#8c564b")
        for i, c in compared:
            bottom.annotate("CC {}\nSIM {}\nKLD {}".format(_f(_acc(c, "cc"), 4), _f(_acc(c, "sim"), 4),
                                                          _f(_acc(c, "kld"), 4)),
                            (i, 0.5), ha="center", va="center", fontsize=6, color="white", fontweight="bold")
        bottom.legend(fontsize=7, loc="lower left")
    for i, c in enumerate(cells):
        if (c.accuracy or {}).get("reference") == "self":
            bottom.annotate("reference", (i, 0.5), ha="center", fontsize=7, rotation=90, color="grey")
    bottom.set_ylim(0.0, 1.1)
    bottom.set_xlim(top.get_xlim())
    bottom.set_xticks(x)
    bottom.set_xticklabels(labels, fontsize=7)
    bottom.set_ylabel("vs fp32 reference (1 = identical)")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def matplotlib_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def write_outputs(result: BenchResult, prefix: str, plot: bool = True) -> Tuple[List[str], List[str]]:
    """Write the JSON, CSV, markdown and (with matplotlib) PNG files; returns (paths written, notes)."""
    paths = output_paths(prefix)
    notes: List[str] = []
    want_png = plot and matplotlib_available()
    if plot and not want_png:
        notes.append(NO_PLOT)
    text = markdown(result) + "".join("\n" + n + "\n" for n in notes)
    if want_png:
        text += "\n![latency and accuracy by cell]({})\n".format(os.path.basename(paths["png"]))
    written = []
    with contextlib.ExitStack() as stack:
        for ext, content in (("json", result.to_json()), ("csv", csv_text(result)), ("md", text)):
            tmp = stack.enter_context(atomic_output(paths[ext]))
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(content)
            written.append(paths[ext])
        if want_png:
            plot_png(result, stack.enter_context(atomic_output(paths["png"])))
            written.append(paths["png"])
    return written, notes


# -- compare -------------------------------------------------------------------------------------------


def compare_rows(a: BenchResult, b: BenchResult) -> List[Dict[str, Any]]:
    """Cell by cell (matched by backend, precision, size, batch): p50, p99 and frames/s of A and B and B / A."""
    rows = []
    ids = [c.id for c in a.cells] + [c.id for c in b.cells if a.cell(c.id) is None]
    for cell_id in ids:
        ca, cb = a.cell(cell_id), b.cell(cell_id)
        row: Dict[str, Any] = {"id": cell_id, "a_status": ca.status if ca else "absent",
                               "b_status": cb.status if cb else "absent"}
        for key in ("p50", "p99"):
            va = ca.latency_ms[key] if ca and ca.ok and ca.latency_ms else None
            vb = cb.latency_ms[key] if cb and cb.ok and cb.latency_ms else None
            row["a_" + key], row["b_" + key] = va, vb
            row[key + "_ratio"] = vb / va if va and vb is not None else None
        fa = ca.throughput_fps if ca and ca.ok else None
        fb = cb.throughput_fps if cb and cb.ok else None
        row["a_fps"], row["b_fps"] = fa, fb
        row["fps_ratio"] = fb / fa if fa and fb is not None else None
        rows.append(row)
    return rows


def _machine(result: BenchResult) -> str:
    env = result.environment
    gpu = (env.get("gpu") or {}).get("name")
    jetson = env.get("jetson") or {}
    extra = ", power mode {}".format(jetson.get("power_mode")) if jetson else ""
    return "{}{}{} ({} CPUs{}), {}".format(env.get("cpu"), " + " + gpu if gpu else "", extra, env.get("cpu_count"),
                                          ", load {}".format(env["load_before"][0]) if env.get("load_before") else "",
                                          result.created)


def compare(a: BenchResult, b: BenchResult, names: Sequence[str] = ("A", "B")) -> str:
    """The ratio table B / A as markdown (< 1 for latency: B is faster; > 1 for frames/s: B is faster)."""
    lines = ["A: {} — {}: {}".format(names[0], a.settings.get("model"), _machine(a)),
             "B: {} — {}: {}".format(names[1], b.settings.get("model"), _machine(b)), "",
             "| cell | A p50 ms | B p50 ms | B/A p50 | A p99 ms | B p99 ms | B/A p99 | A frames/s | B frames/s | "
             "B/A frames/s |", "|---|---|---|---|---|---|---|---|---|---|"]
    def value(row: Dict[str, Any], side: str, key: str) -> str:
        v = row[side + "_" + key]
        return _f(v) if v is not None else row[side + "_status"]

    for row in compare_rows(a, b):
        lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            row["id"], value(row, "a", "p50"), value(row, "b", "p50"), _f(row["p50_ratio"], 3) or "—",
            value(row, "a", "p99"), value(row, "b", "p99"), _f(row["p99_ratio"], 3) or "—", value(row, "a", "fps"),
            value(row, "b", "fps"),
            _f(row["fps_ratio"], 3) or "—"))
    lines += ["", "B/A latency < 1 and B/A frames/s > 1: B is faster. Cells are matched by backend, precision, size "
              "and batch."]
    return "\n".join(lines)
