"""The frame path around inference at camera resolutions: each stage of ``edge-saliency run`` as a ratio to the
inference time of the same run, the encoders' cost, and the pipeline's end-to-end rate.

For each source size (default 480x640, 720x1280, 1080x1920; frames of opencv-doc's vtest.avi scaled up, else
the sample clip's photos, written to an mp4v clip by ``edge_saliency.bench.source_sizes.write_source_clip``, as
``edge-saliency bench --frame-sizes`` does) it times every stage alone over the same frames
(``edge_saliency.bench.frame_path.time_stages``: decode, pre-process, inference through the pipeline's own
Inferencer, post-process with the overlay, output = the overlay video) and reports the p50 of each as a
fraction of inference's p50. Then the whole pipeline with the overlay video (end-to-end FPS / the rate of
inference alone at the same thread count), and at the largest size each encoder (--encoders): ms per frame in
the output stage, CPU ms per frame of every process (an FFmpeg encoder works in its own), KB per frame.

    python benchmarks/frame_path.py --model lite.onnx --label after     # writes results/frame_path_after.{json,md}

Default model: emlnet-lite (random weights: speed is what is measured) exported to ONNX at 256x320. The machine
and its load average are recorded: on a shared machine other processes' work shows up in every stage.
"""
import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

STAGES = ("decode", "preprocess", "inference", "postprocess", "output")
# name -> (file extension, VideoSink keyword arguments)
ENCODERS = {
    "opencv-mp4v": (".mp4", {"encoder": "opencv", "fourcc": "mp4v"}),
    "opencv-MJPG": (".avi", {"encoder": "opencv", "fourcc": "MJPG"}),
    "ffmpeg-libx264": (".mp4", {"encoder": "ffmpeg"}),
    "ffmpeg-libx264-1thread": (".mp4", {"encoder": "ffmpeg", "threads": 1}),
    "ffmpeg-mpeg4": (".mp4", {"encoder": "ffmpeg", "codec": "mpeg4"}),
    "auto": (".mp4", {}),
}


def video_sink(path: str, spec: Dict[str, Any]) -> Any:
    """A VideoSink with the encoder ``spec`` asks for (falls back to the FourCC alone on code without encoders)."""
    from edge_saliency.outputs.video import VideoSink

    try:
        from edge_saliency.outputs.encoder import EncoderOptions
    except ImportError:  # before outputs/encoders.py existed: OpenCV only
        return VideoSink(path, fourcc=spec.get("fourcc"))
    options = EncoderOptions(codec=spec.get("codec"), threads=spec.get("threads"))
    return VideoSink(path, fourcc=spec.get("fourcc"), encoder=spec.get("encoder", "auto"), options=options)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_size(runner: Any, clip: str, frames: int, folder: str, encoder: str) -> Dict[str, Any]:
    from edge_saliency.bench.frame_path import pipeline_rate, time_stages
    from edge_saliency.bench.source_sizes import stage_ratios
    from edge_saliency.bench.stats import stage_stats
    from edge_saliency.pipeline.options import PipelineOptions

    ext, spec = ENCODERS[encoder]
    options = PipelineOptions()
    times = time_stages(clip, runner, frames, options, [video_sink(os.path.join(folder, "alone" + ext), spec)])
    stats = stage_stats(times, STAGES)
    p50 = {name: value["p50"] if value else None for name, value in stats.items()}
    infer = p50["inference"] or float("nan")
    rate = pipeline_rate(clip, runner, frames, options,
                         sinks=lambda: [video_sink(os.path.join(folder, "pipeline" + ext), spec)])
    return {"p50_ms": p50, "vs_inference": stage_ratios(stats),
            "pipeline_fps": rate["fps"], "inference_fps": 1000.0 / infer,
            "pipeline_vs_inference": rate["fps"] * infer / 1000.0, "cores_used": rate["cores_used"]}


def measure_encoder(clip: str, frames: int, folder: str, encoder: str, size: Tuple[int, int]) -> Dict[str, Any]:
    """The output stage alone with one encoder over overlay frames: wall ms per frame in the sink, CPU ms per
    frame of this process and its children (an FFmpeg encoder works in a child), KB per frame."""
    import cv2
    import numpy as np

    ext, spec = ENCODERS[encoder]
    path = os.path.join(folder, "enc-" + encoder + ext)
    capture = cv2.VideoCapture(clip)
    images = []
    while len(images) < frames:
        ok, frame = capture.read()
        if not ok:
            break
        images.append(frame)
    from edge_saliency.outputs.sink import StreamInfo

    try:
        sink = video_sink(path, spec)
        sink.open([StreamInfo(0, clip, size, 25.0)])
    except Exception as exc:  # noqa: BLE001 (an encoder this machine lacks is recorded, not fatal)
        return {"error": str(exc)}
    wall, cpu0, child0 = [], time.process_time(), children_cpu()
    started = time.perf_counter()
    for i, image in enumerate(images):
        packet = type("P", (), {"stream": 0, "views": {"overlay": image}, "hud": [], "index": i})()
        t = time.perf_counter()
        sink.write(packet)
        wall.append(time.perf_counter() - t)
    t = time.perf_counter()
    sink.close()
    close_s = time.perf_counter() - t
    total = time.perf_counter() - started
    cpu = (time.process_time() - cpu0) + (children_cpu() - child0)
    size_bytes = os.path.getsize(path) if os.path.exists(path) else 0
    return {"write_p50_ms": 1000.0 * float(np.median(wall)), "wall_ms_per_frame": 1000.0 * total / len(images),
            "close_ms": 1000.0 * close_s, "cpu_ms_per_frame": 1000.0 * cpu / len(images),
            "kb_per_frame": size_bytes / 1024.0 / len(images), "frames": len(images)}


def machine() -> Dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    import cv2
    import onnxruntime

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "opencv": cv2.__version__,
            "onnxruntime": onnxruntime.__version__, "load_average": [round(v, 2) for v in os.getloadavg()]}


def to_markdown(result: Dict[str, Any]) -> str:
    lines = ["# Frame path at camera resolutions ({})".format(result["label"]), "",
             "Machine: {cpu}, {cores} cores, Python {python}, OpenCV {opencv}, ONNX Runtime {onnxruntime}; load "
             "average {start} at the start, {end} at the end (a shared machine: other processes' work shows up in "
             "every stage).".format(start=result["machine"]["load_average"], end=result["load_average_end"],
                                    **result["machine"]),
             "Model: {model}, ONNX Runtime CPU, {threads} threads; {frames} frames per size; output: the overlay "
             "video with encoder `{encoder}`. p50 ms per frame (x inference p50 of the same run).".format(**result),
             "", "| source | decode | preprocess | inference | postprocess | output | pipeline FPS | inference FPS "
                 "| pipeline / inference |", "|---|---|---|---|---|---|---|---|---|"]
    for size, row in result["sizes"].items():
        cells = []
        for stage in STAGES:
            ms, ratio = row["p50_ms"][stage], row["vs_inference"][stage]
            cells.append("n/a" if ms is None else "{:.1f} ({:.2f})".format(ms, ratio))
        lines.append("| {} | {} | {:.1f} | {:.1f} | {:.2f} |".format(size, " | ".join(cells), row["pipeline_fps"],
                                                                     row["inference_fps"],
                                                                     row["pipeline_vs_inference"]))
    if result.get("encoders"):
        lines += ["", "Encoders at {} (the output stage alone, {} overlay frames):".format(
            result["encoder_size"], result["encoder_frames"]), "",
            "| encoder | write p50 ms | wall ms/frame incl. close | CPU ms/frame (all processes) | KB/frame |",
            "|---|---|---|---|---|"]
        for name, row in result["encoders"].items():
            if "error" in row:
                lines.append("| {} | not available: {} | | | |".format(name, row["error"][:120]))
            else:
                lines.append("| {} | {:.1f} | {:.1f} | {:.1f} | {:.0f} |".format(
                    name, row["write_p50_ms"], row["wall_ms_per_frame"], row["cpu_ms_per_frame"], row["kb_per_frame"]))
    lines += ["", "Command: `python benchmarks/frame_path.py {}`".format(result["command"]), ""]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="an emlnet-lite ONNX file (default: export one at 256x320)")
    parser.add_argument("--sizes", nargs="+", default=None, metavar="HxW",
                        help="source sizes HxW (default 480x640 720x1280 1080x1920)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--threads", type=int, help="ONNX Runtime threads (default: the runtime's default)")
    parser.add_argument("--encoder", default="auto", choices=sorted(ENCODERS), help="the output of the stage table")
    parser.add_argument("--encoders", nargs="*", default=list(ENCODERS), help="encoders measured alone")
    parser.add_argument("--label", default="cpu")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    from edge_saliency.bench.source_sizes import DEFAULT_FRAME_SIZES, parse_frame_sizes, source_clips
    from edge_saliency.runners import create_runner

    args.sizes = parse_frame_sizes(args.sizes) if args.sizes else list(DEFAULT_FRAME_SIZES)

    start_machine = machine()
    with tempfile.TemporaryDirectory() as folder:
        model = args.model
        if model is None:
            from pipeline_efficiency import export_lite  # type: ignore[import-not-found]

            model = export_lite(os.path.join(folder, "lite.onnx"), [256, 320])
        result: Dict[str, Any] = {"label": args.label, "machine": start_machine, "model": os.path.basename(model),
                                  "frames": args.frames, "encoder": args.encoder, "sizes": {},
                                  "command": " ".join(sys.argv[1:])}
        clips = dict(source_clips(None, args.sizes, args.frames, folder))
        with create_runner(model, "onnxruntime", device="cpu", threads=args.threads) as runner:
            result["threads"] = args.threads or "default"
            import numpy as np

            x = np.random.default_rng(0).random((1, 3) + tuple(runner.fixed_size or (256, 320))).astype(np.float32)
            for _ in range(5):
                runner.infer(x)
            for size in args.sizes:
                key = "{}x{}".format(size[1], size[0])
                result["sizes"][key] = measure_size(runner, clips[size], args.frames, folder, args.encoder)
                print(key, json.dumps(result["sizes"][key]["vs_inference"]), flush=True)
        largest = max(args.sizes, key=lambda s: s[0] * s[1])
        result["encoder_size"], result["encoder_frames"] = "{}x{}".format(largest[1], largest[0]), args.frames
        result["encoders"] = {name: measure_encoder(clips[largest], args.frames, folder, name, largest)
                              for name in args.encoders}
    result["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, "frame_path_{}".format(args.label))
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=2)
    with open(base + ".md", "w") as f:
        f.write(to_markdown(result))
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
