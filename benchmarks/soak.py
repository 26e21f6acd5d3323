"""Soak: the ONNX model through the whole pipeline for many frames of a looping clip, recording the process's
resident memory (RSS) and the inference time as the run goes on, with the machine's load beside them.

    python benchmarks/soak.py                          # 20,000 frames, emlnet-lite at 256x320, MP4 + JSON lines
    python benchmarks/soak.py --frames 5000 --sinks mkv --tag mkv
    python benchmarks/soak.py --model tiny --frames 20000 --sinks none --tag tiny-none

Recorded every 100 frames: RSS; every 1,000 frames: the median inference time of those frames, the CPU cores
other processes used meanwhile (/proc/stat minus this process) and the load average. The summary gives RSS at
the start (after 1,000 warm-up frames) and at the end, the growth per frame (least squares over frames 1,000
to the end, and over the second half: growth that levels off shows there as ~0), and inference p50 over the
first and the last 1,000 frames. The default model is emlnet-lite with random weights exported at --size (the
speed and memory do not depend on the weights); ``--model tiny`` is a one-convolution model that leaves the
pipeline's own memory in view. Results: benchmarks/results/soak_cpu[-TAG].{json,md}.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

SINKS = {"mp4": [".mp4", ".jsonl"], "mkv": [".mkv", ".jsonl"], "mp4-only": [".mp4"], "none": []}


def rss_kib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024.0


def slope(points: List[List[float]], start: int) -> Optional[float]:
    """Least-squares growth in KiB per frame of (frame, KiB) points from frame ``start`` on."""
    chosen = [(f, v) for f, v in points if f >= start]
    if len(chosen) < 2:
        return None
    x, y = np.asarray(chosen, dtype=np.float64).T
    return float(np.polyfit(x, y, 1)[0])


def edge_saliency(*args: Any) -> None:
    """A command in its own process: this one must not hold torch or scikit-image (``run`` with an ONNX model
    imports neither), or their memory would be in the RSS measured."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-m", "edge_saliency"] + [str(a) for a in args], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def model_file(name: str, size: List[int], folder: str) -> str:
    if name == "tiny":
        code = ("import sys; sys.path.insert(0, {!r}); from tests.stream_fixtures import tiny_conv_onnx; "
                "tiny_conv_onnx({!r}, size={!r})").format(os.path.dirname(HERE), os.path.join(folder, "tiny.onnx"),
                                                          tuple(size))
        subprocess.run([sys.executable, "-c", code], check=True)
        return os.path.join(folder, "tiny.onnx")
    if name != "emlnet-lite":
        return name
    path = os.path.join(folder, "lite.onnx")
    edge_saliency("export", "emlnet-lite", "--size", "x".join(map(str, size)), "-o", path, "-q")
    return path


def soak(args: argparse.Namespace, folder: str) -> Dict[str, Any]:
    from edge_saliency.bench.accounting import cpu_seconds, other_cpu
    from edge_saliency.capture.sources import open_source
    from edge_saliency.cli.run import default_threads
    from edge_saliency.outputs.jsonl import JsonLinesSink
    from edge_saliency.outputs.video import VideoSink
    from edge_saliency.pipeline.options import PipelineOptions
    from edge_saliency.pipeline.pipeline import Pipeline
    from edge_saliency.runners import create_runner

    size = [int(v) for v in args.size.split("x")]
    model = model_file(args.model, size, folder)
    clip = os.path.join(folder, "clip.mp4")
    edge_saliency("sample-clip", clip, "--frames", args.clip_frames, "--size", args.size, "--fps", 25)
    sinks: List[Any] = []
    for ext in SINKS[args.sinks]:
        out = os.path.join(folder, "soak" + ext)
        sinks.append(JsonLinesSink(out) if ext == ".jsonl" else VideoSink(out))
    threads = args.threads or default_threads()
    rss: List[List[float]] = []
    infer = np.zeros(args.frames)
    windows: List[Dict[str, Any]] = []
    state = {"cpu": cpu_seconds(), "wall": time.perf_counter()}

    def on_frame(packet: Any) -> None:
        index = packet.index
        infer[index] = packet.timings.get("infer", np.nan) * 1000.0
        if index % 100 == 0:
            rss.append([index, rss_kib()])
        if (index + 1) % 1000 == 0:
            now, cpu = time.perf_counter(), cpu_seconds()
            others, stolen = other_cpu(state["cpu"], cpu, now - state["wall"])
            windows.append({"frames": [index - 999, index + 1],
                            "infer_p50_ms": round(float(np.median(infer[index - 999:index + 1])), 3),
                            "fps": round(1000.0 / (now - state["wall"]), 2),
                            "others_cpu": None if others is None else round(others, 3),
                            "stolen_cpu": None if stolen is None else round(stolen, 3),
                            "load": [round(v, 2) for v in os.getloadavg()]})
            state.update(cpu=cpu, wall=now)

    load_before = [round(v, 2) for v in os.getloadavg()]
    started = time.perf_counter()
    source = open_source(clip, loop=True)
    with create_runner(model, device="cpu", threads=threads) as runner:
        summary = Pipeline([source], runner, sinks, PipelineOptions(max_frames=args.frames)).run(on_frame=on_frame)
    source.close()
    wall = time.perf_counter() - started
    first, last = infer[:1000], infer[-1000:]
    at = {str(f): round(v / 1024.0, 2) for f, v in rss if f in (1000, 5000, 10000, 15000, args.frames - 100)}
    others = [w["others_cpu"] for w in windows if w["others_cpu"] is not None]
    paired = [(w["others_cpu"], w["infer_p50_ms"]) for w in windows if w["others_cpu"] is not None]
    correlation = float(np.corrcoef(np.asarray(paired).T)[0, 1]) if len(paired) > 2 else None
    return {
        "command": "python benchmarks/soak.py " + " ".join(sys.argv[1:]),
        "settings": {"frames": args.frames, "model": args.model, "size": size, "sinks": SINKS[args.sinks],
                     "threads": threads, "clip_frames": args.clip_frames, "backend": summary.backend},
        "machine": machine(),
        "wall_s": round(wall, 1),
        "fps": round(summary.fps, 2),
        "rss_mib": {"start_after_1000": round(rss[10][1] / 1024.0, 2) if len(rss) > 10 else None,
                    "end": round(rss[-1][1] / 1024.0, 2), "at_frame": at,
                    "growth_kib_per_frame_from_1000": _round(slope(rss, 1000)),
                    "growth_kib_per_frame_second_half": _round(slope(rss, args.frames // 2))},
        "infer_p50_ms": {"first_1000": round(float(np.median(first)), 3),
                         "last_1000": round(float(np.median(last)), 3)},
        "load": {"loadavg_before": load_before, "loadavg_after": [round(v, 2) for v in os.getloadavg()],
                 "others_cpu_mean": round(float(np.mean(others)), 3) if others else None,
                 "others_cpu_max": round(float(np.max(others)), 3) if others else None,
                 "cores": os.cpu_count(),
                 "infer_vs_others_correlation": None if correlation is None else round(correlation, 3)},
        "windows": windows,
        "rss_kib": [[int(f), int(v)] for f, v in rss],
    }


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 4)


def machine() -> Dict[str, Any]:
    from edge_saliency import system

    return {"cpu": system.cpu_model(), "cores": os.cpu_count(), "python": sys.version.split()[0],
            "onnxruntime": system.package_version("onnxruntime"), "opencv": system.package_version("opencv-python")
            or system.package_version("opencv-contrib-python-headless")}


def markdown(result: Dict[str, Any]) -> str:
    s, r, i, load = result["settings"], result["rss_mib"], result["infer_p50_ms"], result["load"]
    lines = [
        "# Soak: {} frames, {} at {}x{}, sinks {}".format(s["frames"], s["model"], s["size"][0], s["size"][1],
                                                          " + ".join(s["sinks"]) or "none"),
        "",
        "`{}` — {}; {} cores; {} s, {} FPS.".format(result["command"], result["machine"]["cpu"],
                                                     result["machine"]["cores"], result["wall_s"], result["fps"]),
        "",
        "| | value |",
        "|---|---|",
        "| RSS after 1,000 frames | {} MiB |".format(r["start_after_1000"]),
        "| RSS at the end | {} MiB |".format(r["end"]),
        "| growth, frames 1,000 → end | {} KiB/frame |".format(r["growth_kib_per_frame_from_1000"]),
        "| growth, second half | {} KiB/frame |".format(r["growth_kib_per_frame_second_half"]),
        "| inference p50, first 1,000 frames | {} ms |".format(i["first_1000"]),
        "| inference p50, last 1,000 frames | {} ms |".format(i["last_1000"]),
        "| load average before / after | {} / {} |".format(load["loadavg_before"], load["loadavg_after"]),
        "| CPU cores used by other processes (mean / max of 1,000-frame windows) | {} / {} |".format(
            load["others_cpu_mean"], load["others_cpu_max"]),
        "| correlation of a window's inference p50 with others' CPU | {} |".format(
            load["infer_vs_others_correlation"]),
        "",
        "RSS (MiB) by frame: " + ", ".join("{}: {}".format(k, v) for k, v in r["at_frame"].items()),
        "",
        "| frames | inference p50 ms | FPS | others' CPU | load 1 min |",
        "|---|---|---|---|---|",
    ]
    lines += ["| {}–{} | {} | {} | {} | {} |".format(w["frames"][0], w["frames"][1], w["infer_p50_ms"], w["fps"],
                                                      w["others_cpu"], w["load"][0]) for w in result["windows"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--model", default="emlnet-lite", help="emlnet-lite (exported at --size), tiny, or an ONNX")
    parser.add_argument("--size", default="256x320", help="model input HxW (default %(default)s)")
    parser.add_argument("--sinks", choices=sorted(SINKS), default="mp4")
    parser.add_argument("--threads", type=int, help="ONNX Runtime threads (default: as edge-saliency run)")
    parser.add_argument("--clip-frames", type=int, default=100, help="frames of the looping clip")
    parser.add_argument("--tag", default="", help="result file suffix: soak_cpu-TAG")
    args = parser.parse_args()
    from edge_saliency.files.atomic import atomic_write_text

    with tempfile.TemporaryDirectory() as folder:
        result = soak(args, folder)
    stem = os.path.join(HERE, "results", "soak_cpu" + ("-" + args.tag if args.tag else ""))
    atomic_write_text(stem + ".json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(stem + ".md", markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
