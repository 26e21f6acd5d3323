"""Pipeline efficiency: end-to-end FPS of the threaded pipeline divided by the rate of its slowest stage
measured alone, on the same frames, with the same runner, sinks and settings (target >= 0.90).

Each round runs every stage alone over the frames (capture = decoding the video; pre-process; inference;
post-process with the overlay; output = the video and JSON-lines sinks), then the whole pipeline over the
same frames, then the stages alone again; the ratio of the round is pipeline FPS / min(mean stage rates).
The result records every round, the median, the machine and the load average (other processes on the same
CPUs lower the ratio: the pipeline needs more than one core, a stage alone does not).

    python benchmarks/pipeline_efficiency.py                    # ONNX Runtime, emlnet-lite at 256x320
    python benchmarks/pipeline_efficiency.py --threads 1 2      # compare ONNX Runtime intra-op thread counts

Default video: opencv-doc's vtest.avi (768x576; docs/design.md, "Real data available offline") when installed,
else a sample clip of scikit-image photos. Default model: emlnet-lite (random weights; the speed is what is
measured) exported to ONNX at --size. Results go to benchmarks/results/pipeline_efficiency.{json,md}.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))



def export_lite(path: str, size: List[int]) -> str:
    import warnings

    import torch

    from edge_saliency import create_model

    torch.manual_seed(0)
    model = create_model("emlnet-lite", input_size=tuple(size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.rand(1, 3, *size), path, input_names=["image"], output_names=["saliency"],
                          opset_version=17, dynamo=False)
    return path


def make_sinks(folder: str, tag: str) -> List[Any]:
    from edge_saliency.outputs.jsonl import JsonLinesSink
    from edge_saliency.outputs.video import VideoSink

    return [VideoSink(os.path.join(folder, tag + ".mp4")), JsonLinesSink(os.path.join(folder, tag + ".jsonl"))]


def stages_alone(video: str, runner: Any, frames: int, folder: str, options: Any) -> Dict[str, float]:
    """Frames per second of each stage run alone, serially, over the same frames as the pipeline."""
    from edge_saliency.bench.frame_path import time_stages

    times = time_stages(video, runner, frames, options, make_sinks(folder, "alone"))
    stages = {"capture": "decode", "preprocess": "preprocess", "infer": "inference", "postprocess": "postprocess",
              "output": "output"}
    return {name: len(times[key]) / sum(times[key]) for name, key in stages.items()}  # type: ignore[arg-type]


def pipeline_run(video: str, runner: Any, frames: int, folder: str, options: Any) -> Dict[str, Any]:
    """The pipeline's FPS, how busy each stage's thread was, and how many cores the process used."""
    from edge_saliency.bench.frame_path import pipeline_rate

    return pipeline_rate(video, runner, frames, options, sinks=lambda: make_sinks(folder, "pipeline"))


def measure(video: str, model: str, threads: int, frames: int, rounds: int, folder: str) -> Dict[str, Any]:
    from edge_saliency.pipeline.options import PipelineOptions
    from edge_saliency.runners import create_runner

    options = PipelineOptions()
    results = []
    with create_runner(model, "onnxruntime", device="cpu", threads=threads) as runner:
        import numpy as np

        size = runner.fixed_size or (256, 320)
        for _ in range(5):  # warm-up
            runner.infer(np.zeros((1, 3) + tuple(size), np.float32))
        for index in range(rounds):
            # stages alone just before and just after the pipeline, averaged: load from other processes that
            # changes during the round weighs on both sides
            before = stages_alone(video, runner, frames, folder, options)
            run = pipeline_run(video, runner, frames, folder, options)
            after = stages_alone(video, runner, frames, folder, options)
            alone = {name: (before[name] + after[name]) / 2.0 for name in before}
            slowest = min(alone, key=alone.get)
            fps = run["fps"]
            results.append({"round": index + 1, "stage_fps": {k: round(v, 2) for k, v in alone.items()},
                            "slowest_stage": slowest, "pipeline_fps": round(fps, 2),
                            "efficiency": round(fps / alone[slowest], 3),
                            "slowest_stage_busy": run["busy"].get(slowest), "cores_used": round(run["cores_used"], 2),
                            "load_1min": round(os.getloadavg()[0], 2)})
            print("threads {} round {}: stages alone {}; pipeline {:.2f} FPS; efficiency {:.3f} (slowest: {}, busy "
                  "{:.0%} of the run; process used {:.2f} cores; load {:.2f})".format(
                      threads, index + 1, ", ".join("{} {:.1f}".format(k, v) for k, v in alone.items()), fps,
                      fps / alone[slowest], slowest, run["busy"].get(slowest, 0.0), run["cores_used"],
                      os.getloadavg()[0]), flush=True)
        description = runner.describe()
    return {"threads": threads, "runner": description, "rounds": results,
            "median_efficiency": round(statistics.median(r["efficiency"] for r in results), 3),
            "median_pipeline_fps": round(statistics.median(r["pipeline_fps"] for r in results), 2)}


def write_markdown(path: str, report: Dict[str, Any]) -> None:
    env = report["environment"]
    lines = [
        "# Pipeline efficiency (ONNX Runtime, CPU)",
        "",
        "End-to-end FPS of the threaded pipeline divided by the rate of its slowest stage measured alone, on the "
        "same frames with the same runner and sinks. Target >= 0.90. Produced by "
        "`benchmarks/pipeline_efficiency.py`; the JSON beside this file has every round.",
        "",
        "- machine: {} ({} logical CPUs), {}, Python {}, ONNX Runtime {}".format(
            env["cpu"], env["cpu_count"], env["os"], env["python"], env["onnxruntime"]),
        "- load average (1 min) before / after: {} / {} (the CPUs are shared with other processes); this process "
        "ran at niceness {}".format(report["load_before"][0], report["load_after"][0], report["niceness"]),
        "- video: {} ({} frames per round); model: {}; sinks: overlay video (.mp4, mp4v) + JSON lines".format(
            report["video"], report["frames"], report["model"]),
        "" if not report.get("note") else "- note: {}\n".format(report["note"]),
        "| ONNX Runtime threads | median pipeline FPS | median efficiency | slowest stage | its thread busy | "
        "cores used | rounds (efficiency @ load) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        rounds = run["rounds"]
        slowest = statistics.mode(r["slowest_stage"] for r in rounds)
        lines.append("| {} | {:.2f} | **{:.3f}** | {} | {:.0%} | {:.2f} | {} |".format(
            run["threads"], run["median_pipeline_fps"], run["median_efficiency"], slowest,
            statistics.median(r["slowest_stage_busy"] or 0.0 for r in rounds),
            statistics.median(r["cores_used"] for r in rounds),
            ", ".join("{:.3f} @ {}".format(r["efficiency"], r["load_1min"]) for r in rounds)))
    lines += ["", "'its thread busy': the share of the pipeline's run time the slowest stage spent working (100%: the "
              "pipeline never starves it). 'cores used': process CPU time / wall time."]
    lines += ["", "Stage rates alone (frames/s), first round:", ""]
    for run in report["runs"]:
        stages = run["rounds"][0]["stage_fps"]
        rates = ", ".join("{} {}".format(k, v) for k, v in stages.items())
        lines.append("- threads {}: {}".format(run["threads"], rates))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", help="video file (default: vtest.avi if installed, else a sample clip)")
    parser.add_argument("--model", help="ONNX model (default: emlnet-lite exported at --size)")
    parser.add_argument("--size", default="256x320", help="model input HxW for the default model")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="ONNX Runtime intra-op threads")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "pipeline_efficiency"))
    parser.add_argument("--note", default="", help="a line to record with the results (e.g. what else ran)")
    args = parser.parse_args()

    from edge_saliency import system

    size = [int(v) for v in args.size.lower().split("x")]
    with tempfile.TemporaryDirectory(prefix="edge-saliency-bench-") as folder:
        from edge_saliency.bench.frame_path import default_video

        video = args.video or default_video()
        if video is None:
            from edge_saliency.outputs.sample_clip import write_sample_clip

            video = write_sample_clip(os.path.join(folder, "clip.mp4"), frames=args.frames, size=(576, 768))
        model = args.model or export_lite(os.path.join(folder, "lite.onnx"), size)
        load_before = [round(v, 2) for v in os.getloadavg()]
        runs = [measure(video, model, threads, args.frames, args.rounds, folder) for threads in args.threads]
        load_after = [round(v, 2) for v in os.getloadavg()]
    report = {
        "benchmark": "pipeline_efficiency", "target": 0.9, "video": os.path.basename(video), "frames": args.frames,
        "model": args.model or "emlnet-lite (random weights) ONNX at {}x{}".format(*size),
        "runs": runs, "load_before": load_before, "load_after": load_after, "niceness": os.nice(0),
        "environment": system.environment(), "date": time.strftime("%Y-%m-%d %H:%M:%S"), "note": args.note,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    write_markdown(args.out + ".md", report)
    print("wrote {}.json and {}.md".format(args.out, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
