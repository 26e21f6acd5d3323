"""``edge-saliency run SOURCE [--model MODEL] [--output OUT.mp4]``: saliency on video, cameras, streams or
images, in real time.
"""
import argparse
import logging
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from ..errors import UserError
from .common import INPUT_SKIPPED, add_subcommand
from .run_arguments import (
    add_decoder_group,
    add_model_group,
    add_output_group,
    add_postprocess_group,
    add_source_group,
    add_tensorrt_group,
)

if TYPE_CHECKING:
    from ..pipeline.options import PipelineOptions

log = logging.getLogger("edge_saliency")

INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def register(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "run", run, help="saliency on video files, cameras, streams or images, in real time",
        description="Run a saliency model over SOURCE and write an overlay video, maps and/or JSON lines, show a "
                    "window, and print a timing summary. SOURCE: a video file, a camera index or /dev/videoN, "
                    "rtsp:// / http(s):// streams, csi://N (Jetson CSI camera), gst://PIPELINE, an image, a folder "
                    "or a glob. Without --model the classic spectral-residual backend runs (no weights). Ctrl-C "
                    "stops cleanly: outputs are finished and playable (exit code 130).")
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="one or more sources (several: batched together)")
    add_model_group(parser)
    add_tensorrt_group(parser)
    add_postprocess_group(parser)
    add_output_group(parser)
    add_source_group(parser)
    add_decoder_group(parser)


def decode_options(args: argparse.Namespace) -> Any:
    """The :class:`~edge_saliency.capture.decoders.DecodeOptions` the arguments ask for, validated."""
    from ..capture.decoders import DecodeOptions

    options = DecodeOptions(threads=args.decoder_threads, hw_acceleration=args.decoder_hw, codec=args.input_codec,
                            latency_ms=args.rtsp_latency)
    options.validate()
    return options


def pipeline_options(args: argparse.Namespace) -> "PipelineOptions":
    """The :class:`~edge_saliency.pipeline.options.PipelineOptions` the arguments ask for, validated."""
    from ..pipeline.options import PipelineOptions

    options = PipelineOptions(
        size=args.size, letterbox=args.letterbox, preprocess=args.preprocess, blur_sigma=args.blur,
        minmax=not args.no_minmax, smooth=args.smooth, threshold=args.threshold, colormap=args.colormap,
        alpha=args.alpha, batch=args.batch, queue_size=args.queue_size, policy=args.policy, max_frames=args.max_frames,
        hud=args.hud)
    options.validate()
    return options


def default_threads() -> int:
    """CPU threads for ONNX Runtime / PyTorch inside the pipeline: all cores but one, which decoding,
    pre-/post-processing and encoding use (benchmarks/results/pipeline_efficiency.md)."""
    return max(1, (os.cpu_count() or 2) - 1)


def quiet_opencv(verbose: int) -> None:
    """OpenCV and FFmpeg print their own warnings (e.g. for a camera that is not there); our messages say it
    in one line, so theirs show only with -v."""
    if verbose > 0:
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; read when FFmpeg starts
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    try:
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except (ImportError, AttributeError):
        pass


def _check_values(args: argparse.Namespace) -> None:
    """Option values argparse cannot judge alone, each as one line naming the value and the fix."""
    from ..outputs.sink import check_fps

    check_fps(args.fps, "--fps")
    check_fps(args.image_fps, "--image-fps")
    check_fps(args.capture_fps, "--capture-fps")
    if args.threads is not None and args.threads < 1:
        raise UserError("--threads must be at least 1 (CPU threads for ONNX Runtime / PyTorch), got {}; leave it "
                        "out for the default ({})".format(args.threads, default_threads()))
    if args.reconnect is not None and args.reconnect < -1:
        raise UserError("--reconnect takes a number of attempts, or -1 for forever; got {}".format(args.reconnect))
    if not args.stream_timeout > 0:
        raise UserError("--stream-timeout must be a positive number of seconds, got {}".format(args.stream_timeout))


def _inputs(args: argparse.Namespace) -> List[str]:
    """Every file and folder the run reads: sources (an image folder and its images), the model and its
    sidecar, plugin libraries."""
    from ..capture.images import source_paths
    from ..files.sidecar import sidecar_path

    paths: List[str] = []
    for uri in args.sources:
        paths += source_paths(uri)
    if args.model and os.path.exists(args.model):
        paths += [args.model, sidecar_path(args.model)]
    return paths + list(args.plugin)


def _outputs(args: argparse.Namespace, inputs: List[str]) -> List[Any]:
    """Every file (and the maps folder) the run would write."""
    from ..capture.images import image_names
    from ..files.checks import Output
    from ..outputs.jsonl import STDOUT
    from ..outputs.maps import map_paths
    from ..outputs.sink import stream_path

    streams = len(args.sources)
    outputs = []
    for spec in _output_specs(args):
        if spec.kind == "video":
            outputs += [Output(stream_path(spec.target, i, streams), "output video") for i in range(streams)]
    if args.jsonl and args.jsonl != STDOUT:
        outputs.append(Output(args.jsonl, "JSON-lines file"))
    if args.summary_json:
        outputs.append(Output(args.summary_json, "summary file"))
    if args.maps:
        outputs.append(Output(args.maps, "maps folder", folder=True))
        names = [image_names(uri) for uri in args.sources]
        outputs += [Output(path, "map") for path in map_paths(args.maps, args.maps_format, names, inputs)]
    return outputs


def _output_specs(args: argparse.Namespace) -> List[Any]:
    from ..outputs.registry import parse_sink_uri

    return [parse_sink_uri(uri) for uri in args.output]


def output_options(args: argparse.Namespace) -> Any:
    from ..outputs.encoder import EncoderOptions
    from ..outputs.sink import OutputOptions

    encoding = EncoderOptions(codec=args.codec, threads=args.encoder_threads, bitrate_kbps=args.bitrate)
    options = OutputOptions(view=args.view, fourcc=args.fourcc, fps=args.fps, hud=args.hud, threshold=args.threshold,
                            encoder=args.encoder, encoding=encoding, jpeg_quality=args.output_quality,
                            max_fps=args.output_max_fps, token=args.output_token,
                            max_clients=args.output_max_clients)
    options.validate()
    return options


def _sinks(args: argparse.Namespace, live: bool) -> List[Any]:
    """The sinks asked for, each output checked for writability now (before sources and model load)."""
    from ..files.atomic import check_writable
    from ..outputs.jsonl import STDOUT, JsonLinesSink
    from ..outputs.maps import MapsSink
    from ..outputs.sink import stream_path
    from ..outputs.sinks import create_sink
    from ..outputs.summary import SummarySink
    from ..outputs.window import WindowSink, display_available

    sinks: List[Any] = []
    options = output_options(args)
    specs = _output_specs(args)
    for uri, spec in zip(args.output, specs):
        if spec.kind == "display" and not display_available()[0]:
            raise UserError("cannot open a window for {}: {}".format(spec.uri, display_available()[1]))
        sinks.append(create_sink(uri, options))
        if spec.kind == "video":
            for index in range(len(args.sources)):
                check_writable(stream_path(spec.target, index, len(args.sources)), "output video")
    if args.jsonl:
        sinks.append(JsonLinesSink(args.jsonl, threshold=args.threshold))
        if args.jsonl != STDOUT:
            check_writable(args.jsonl, "JSON-lines file")
    if args.maps:
        sinks.append(MapsSink(args.maps, args.maps_format))
        if os.path.exists(args.maps) and not os.path.isdir(args.maps):
            raise UserError("maps folder {} is a file; give a folder".format(args.maps))
        check_writable(os.path.join(args.maps, "probe"), "maps folder")
    files = bool(sinks)
    if args.summary_json:
        sinks.append(SummarySink(args.summary_json))
        check_writable(args.summary_json, "summary file")
    display = args.display
    if any(spec.kind == "display" for spec in specs):
        display = False  # already there
    elif display is None:
        display = display_available()[0] and (live or not files)
    elif display and not display_available()[0]:
        raise UserError("cannot open a window: {}; run with --no-display".format(display_available()[1]))
    if display:
        sinks.append(WindowSink(view=args.view, hud=args.hud != "off"))
    return sinks


class Progress:
    """A tqdm bar (frames, FPS, drops) on stderr; nothing when tqdm is missing or stderr is not a terminal."""

    def __init__(self, enabled: Optional[bool], total: Optional[int], live: bool) -> None:
        self.bar: Any = None
        if enabled is False or (enabled is None and not sys.stderr.isatty()):
            return
        try:
            from tqdm import tqdm
        except ImportError:
            log.debug("no progress bar: tqdm is not installed")
            return
        self.bar = tqdm(total=total, unit="frame", dynamic_ncols=True, smoothing=0.1, leave=True,
                        desc="live" if live else "frames")

    def update(self, pipeline: Any) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if pipeline.latest and self.bar.n % 10 == 0:
                self.bar.set_postfix(dropped=pipeline.dropped, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _install_signals(pipeline: Any) -> List[Tuple[int, Any]]:
    """First Ctrl-C / SIGTERM: finish cleanly; second: stop at once (outputs are still finalized)."""
    if threading.current_thread() is not threading.main_thread():
        return []
    presses = [0]

    def handler(signum: int, frame: Any) -> None:
        presses[0] += 1
        if presses[0] == 1:
            print("edge-saliency: stopping: finishing the frames in flight (Ctrl-C again to stop now)",
                  file=sys.stderr)
            pipeline.stop("interrupted")
        else:
            pipeline.abort()

    previous = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous.append((sig, signal.signal(sig, handler)))
    return previous


def run(args: argparse.Namespace) -> int:
    from ..capture.sources import open_source
    from ..capture.uri import parse_uri
    from ..files.checks import check_outputs
    from ..outputs.jsonl import STDOUT
    from ..pipeline.pipeline import Pipeline
    from ..runners import create_runner

    quiet_opencv(args.verbose)
    options = pipeline_options(args)
    _check_values(args)
    decoding = decode_options(args)
    live = any(parse_uri(uri).live for uri in args.sources)
    inputs = _inputs(args)
    check_outputs(_outputs(args, inputs), inputs)  # before anything is opened or written
    sinks = _sinks(args, live)
    sources: List[Any] = []
    runner = None
    previous: List[Tuple[int, Any]] = []
    try:
        for uri in args.sources:
            sources.append(open_source(uri, loop=args.loop, reconnect=args.reconnect,
                                       capture_wh=args.capture_wh, capture_fps=args.capture_fps,
                                       flip=args.flip_method, image_fps=args.image_fps,
                                       stream_timeout=args.stream_timeout, decoder=args.decoder,
                                       decode_options=decoding))
        if args.model is None and args.backend in ("auto", "classic"):
            log.info("no --model: running the classic spectral-residual saliency backend (no weights); give --model "
                     "MODEL.onnx for EML-Net")
        runner = create_runner(args.model, args.backend, device=args.device, precision=args.precision,
                               input_size=args.size, batch=args.batch, threads=args.threads or default_threads(),
                               tensorrt_ep=args.trt_ep,
                               cuda_api=args.cuda_api, cuda_graph=args.cuda_graph,
                               allow_host_code=args.allow_host_code, plugins=args.plugin,
                               classic_method=args.classic_method, engine_dir=args.engine_dir)
        runner.activate()
        pipeline = Pipeline(sources, runner, sinks, options)
        outputs = [s.describe() for s in sinks]
        log.info("%s, input %dx%d%s (%s), batch %d: %s -> %s", runner.describe(), pipeline.size[0],
                 pipeline.size[1], " letterboxed" if options.letterbox else "", pipeline.preprocess, pipeline.batch,
                 ", ".join(s.uri for s in sources), ", ".join(outputs) or "nothing (timing only; add --output OUT.mp4)")
        total = None
        if not live:
            counts = [s.frame_count for s in sources]
            if all(counts) and not args.loop:
                total = sum(min(c, args.max_frames or c) for c in counts)  # type: ignore[type-var]
        progress = Progress(args.progress, total, live)
        previous = _install_signals(pipeline)
        try:
            summary = pipeline.run(on_frame=lambda packet: progress.update(pipeline))
        finally:
            progress.close()
        report = sys.stderr if args.jsonl == STDOUT else sys.stdout  # stdout carries the JSON lines then
        for line in summary.lines():
            print(line, file=report)
        for sink in sinks:  # only what this run completed
            for line in sink.report():
                print(line, file=report)
        if pipeline.stop_reason == "interrupted":
            return INTERRUPTED
        if summary.skipped:  # the rest is complete; scripts can tell that input was left out
            print("{} input image(s) or frame(s) could not be read and were skipped (exit status {})".format(
                summary.skipped, INPUT_SKIPPED), file=report)
            return INPUT_SKIPPED
        return 0
    finally:
        for sig, handler in previous:
            signal.signal(sig, handler)
        if runner is not None:
            runner.deactivate()
        for source in sources:
            source.close()
