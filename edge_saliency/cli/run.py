"""``edge-saliency run SOURCE [--model MODEL] [--output OUT.mp4]``: saliency on video, cameras, streams or
images, in real time.

Long on purpose: the run command's argument groups, the options they build and the wiring of sources, runner and
outputs; each function is short.
"""
import argparse
import logging
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from ..errors import UserError
from ..vocabulary import AUTO, BACKENDS, ENGINE_DIR, PRECISIONS
from .common import add_device_argument, add_plugin_argument, add_subcommand, parse_pair, parse_size

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
    _add_model_arguments(parser)
    _add_tensorrt_arguments(parser)
    _add_postprocess_arguments(parser)
    _add_output_arguments(parser)
    _add_source_arguments(parser)
    _add_decoder_arguments(parser)


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    from ..config import PREPROCESS_MODES
    from ..runners.classic_runner import METHODS as CLASSIC_METHODS

    model = parser.add_argument_group("model")
    model.add_argument("--model", "-m", metavar="MODEL_FILE",
                       help="an .onnx file, a TensorRT .engine, an ONNX Runtime artifact (build-engine), a "
                            ".safetensors model, or a preset name (random weights); default: classic backend")
    model.add_argument("--backend", choices=(AUTO,) + BACKENDS, default=AUTO,
                       help="auto: by the model file (engine: tensorrt; .onnx: tensorrt with TensorRT and a GPU, else "
                            "onnxruntime; .safetensors/preset: torch; none: classic). Default %(default)s")
    add_device_argument(model)
    model.add_argument("--precision", choices=PRECISIONS,
                       help="PyTorch (default fp16 on CUDA, fp32 on CPU); the TensorRT build of an .onnx "
                            "(default: the ONNX file's); the ONNX Runtime TensorRT provider")
    model.add_argument("--size", type=parse_size, metavar="HxW",
                       help="model input height x width for models with a dynamic size (multiples of 32 for "
                            "EML-Net); default: the size in the model's sidecar (classic: 240x320)")
    model.add_argument("--letterbox", action="store_true",
                       help="keep the frame's aspect ratio (pad with grey) instead of stretching like the official "
                            "model")
    model.add_argument("--preprocess", choices=PREPROCESS_MODES, metavar="MODE",
                       help="how frames are resized to the model input: {} (default: the model's own, from its "
                            "sidecar; the official model's is pillow-bilinear, exact but slow on video; "
                            "opencv-linear is the fastest)".format(", ".join(PREPROCESS_MODES)))
    model.add_argument("--batch", type=int, metavar="N",
                       help="frames (of one or several sources) per inference; needs a model with a dynamic or "
                            "larger batch. Default: the model's static batch, else 1")
    model.add_argument("--threads", type=int, metavar="N",
                       help="CPU threads for ONNX Runtime / PyTorch (default: CPU cores - 1, leaving one core for "
                            "decoding and encoding)")
    model.add_argument("--classic-method", choices=CLASSIC_METHODS,
                       default="spectral-residual", help="classic backend algorithm (default %(default)s)")


def _add_tensorrt_arguments(parser: argparse.ArgumentParser) -> None:
    from ..runners.cuda import CUDA_APIS

    trt = parser.add_argument_group("TensorRT")
    trt.add_argument("--cuda-api", choices=CUDA_APIS, default="auto",
                     help="CUDA from Python (auto: cuda-python, else PyCUDA)")
    trt.add_argument("--cuda-graph", action="store_true", help="capture inference into a CUDA graph (static shapes)")
    trt.add_argument("--allow-host-code", action="store_true",
                     help="load version-compatible engines (they embed host code: trusted sources only)")
    add_plugin_argument(trt)
    trt.add_argument("--trt-ep", action="store_true",
                     help="ONNX Runtime backend: put the TensorRT execution provider first (engines cached in "
                          "--engine-dir)")
    trt.add_argument("--engine-dir", default=ENGINE_DIR, help="engine cache folder (default %(default)s)")


def _add_postprocess_arguments(parser: argparse.ArgumentParser) -> None:
    from ..maths.postprocess import OFFICIAL_SIGMA

    post = parser.add_argument_group("post-processing")
    post.add_argument("--blur", type=float, default=OFFICIAL_SIGMA, metavar="SIGMA",
                      help="Gaussian blur σ in pixels at 480x640, scaled to the map (official: 5); 0: off")
    post.add_argument("--no-minmax", action="store_true", help="skip the per-frame min-max normalization")
    post.add_argument("--smooth", type=float, default=1.0, metavar="ALPHA",
                      help="temporal smoothing: exponential moving average weight of the new frame, in (0, 1]; "
                           "1: off (default)")
    post.add_argument("--threshold", type=float, default=0.5,
                      help="most salient region (JSON bbox): pixels >= THRESHOLD x peak (default %(default)s)")


def _add_output_arguments(parser: argparse.ArgumentParser) -> None:
    from ..maths.postprocess import COLORMAPS
    from ..outputs.encoder import CODECS as ENCODER_CODECS
    from ..outputs.encoders import BACKENDS as ENCODER_BACKENDS
    from ..outputs.sink import MAP_FORMATS, VIEWS
    from ..pipeline.options import HUD_MODES

    out = parser.add_argument_group("outputs")
    out.add_argument("--output", "-o", metavar="URI", action="append", default=[],
                     help="where frames go; repeat for several: a video file (.mp4, .mkv, .mov, .avi) at the "
                          "source's fps and size (several sources: {stream} in the name, else -N is added); "
                          "display:// (a window); http://HOST:PORT (live page, MJPEG, events, /metrics; 0.0.0.0 "
                          "serves every interface, port 0 any free port); rtp://HOST:PORT; rtsp://HOST:PORT/PATH "
                          "(docs/network-outputs.md)")
    out.add_argument("--view", choices=VIEWS, default="overlay", help="what the video and window show "
                                                                      "(default %(default)s)")
    out.add_argument("--colormap", choices=COLORMAPS, default="jet", help="heat-map colours (default %(default)s)")
    out.add_argument("--alpha", type=float, default=0.5, help="overlay opacity in [0, 1] (default %(default)s)")
    out.add_argument("--encoder", choices=ENCODER_BACKENDS, default="auto",
                     help="video encoder: auto (a GStreamer hardware encoder where one exists, else an FFmpeg process "
                          "with libx264, else OpenCV), opencv, ffmpeg, gstreamer; -v prints the command or pipeline "
                          "(docs/performance.md). Default %(default)s")
    out.add_argument("--codec", choices=ENCODER_CODECS,
                     help="codec for the ffmpeg / gstreamer encoders (default: h264; .avi: mjpeg)")
    out.add_argument("--fourcc", metavar="CODE",
                     help="OpenCV video codec (default: mp4v for .mp4/.mkv/.mov, MJPG for .avi); given, auto tries "
                          "OpenCV first")
    out.add_argument("--encoder-threads", type=int, metavar="N", help="encoder threads (default: the encoder's)")
    out.add_argument("--bitrate", type=int, metavar="KBPS",
                     help="target bit rate in kbit/s (default: constant quality; GStreamer: 8000)")
    out.add_argument("--fps", type=float, help="output video frame rate (default: the source's)")
    out.add_argument("--jsonl", metavar="FILE", help="JSON lines: one record per frame (peak, bbox, mean, latency)")
    out.add_argument("--maps", metavar="DIR", help="per-frame saliency maps into DIR")
    out.add_argument("--maps-format", choices=MAP_FORMATS, default="png",
                     help="png: uint8 at frame size; npy: float32 in [0, 1] at frame size (default %(default)s)")
    out.add_argument("--display", dest="display", action="store_true", default=None,
                     help="show a window (default: when a display exists and the source is live or there is no "
                          "other output)")
    out.add_argument("--no-display", dest="display", action="store_false", help="never open a window")
    out.add_argument("--hud", choices=HUD_MODES, default="auto",
                     help="FPS / latency text: auto: in the window only; on: also in the video; off")
    out.add_argument("--summary-json", metavar="FILE", help="write the end-of-run summary as JSON")
    net = parser.add_argument_group("network outputs (http://, rtp://, rtsp://)")
    net.add_argument("--output-token", metavar="TOKEN", default=os.environ.get("EDGE_SALIENCY_OUTPUT_TOKEN"),
                     help="access token of the http output (default: $EDGE_SALIENCY_OUTPUT_TOKEN; without one, a "
                          "token is generated and printed when the host is not a loopback address)")
    net.add_argument("--output-quality", type=int, default=80, metavar="Q",
                     help="JPEG quality of the MJPEG streams, 1-100 (default %(default)s)")
    net.add_argument("--output-max-fps", type=float, default=15.0, metavar="FPS",
                     help="frames per second sent to browsers at most (default %(default)s)")
    net.add_argument("--output-max-clients", type=int, default=32, metavar="N",
                     help="open MJPEG / event streams at most; more get 503 (default %(default)s)")
    out.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="progress bar (default: when stderr is a terminal)")
    out.add_argument("--no-progress", dest="progress", action="store_false")


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    from ..pipeline.options import POLICIES

    src = parser.add_argument_group("sources")
    src.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames per source")
    src.add_argument("--loop", action="store_true", help="restart files and image folders at their end")
    src.add_argument("--policy", choices=POLICIES, default="auto",
                     help="auto: live sources keep only the newest frame (drop stale ones), files keep every "
                          "frame in order")
    src.add_argument("--queue-size", type=int, default=2, help="frames between two stages (default %(default)s)")
    src.add_argument("--reconnect", type=int, metavar="N",
                     help="attempts to (re)connect a live source that is down at the start or drops, with back-off "
                          "(default 10 for streams, 3 for cameras; -1: forever)")
    src.add_argument("--stream-timeout", type=float, default=10.0, metavar="SECONDS",
                     help="network streams: how long opening or reading may stall before it counts as a failure "
                          "(default %(default)s)")
    src.add_argument("--capture-resolution", dest="capture_wh", metavar="WxH",
                     type=lambda t: parse_pair(t, "--capture-resolution", "1280x720"),
                     help="resolution asked of cameras and CSI, width x height as cameras take it (--size is HxW); "
                          "CSI default 1280x720")
    src.add_argument("--capture-fps", type=float, help="frame rate asked of cameras and CSI (CSI default 30)")
    src.add_argument("--flip-method", type=int, default=0, choices=range(8), metavar="0-7",
                     help="CSI: nvvidconv flip-method (2: rotate 180°)")
    src.add_argument("--image-fps", type=float, default=10.0,
                     help="frame rate of image sources (timestamps, output video); default %(default)s")


def _add_decoder_arguments(parser: argparse.ArgumentParser) -> None:
    from ..capture.decoders import DECODERS
    from ..capture.gstreamer import DECODABLE

    dec = parser.add_argument_group("decoding (video files and network streams; docs/performance.md, \"Decoders\")")
    dec.add_argument("--decoder", choices=DECODERS, default="auto",
                     help="auto: H.264/H.265 files and rtsp:// streams through GStreamer's hardware nvv4l2decoder "
                          "where OpenCV has GStreamer and the elements exist (Jetson), else OpenCV's FFmpeg backend; "
                          "opencv: always FFmpeg; gstreamer: force the GStreamer pipeline. -v prints the choice")
    dec.add_argument("--decoder-threads", type=int, metavar="N",
                     help="OpenCV FFmpeg decode threads (default: OpenCV's, one per core; 1 leaves the other cores "
                          "to inference)")
    dec.add_argument("--decoder-hw", action="store_true",
                     help="ask OpenCV's FFmpeg backend for hardware decoding (VAAPI / D3D11 / MFX where its build "
                          "and the machine have them; software otherwise)")
    dec.add_argument("--input-codec", choices=DECODABLE,
                     help="codec of rtsp:// streams for the GStreamer pipeline (default h264; files: read from "
                          "the container)")
    dec.add_argument("--rtsp-latency", type=int, default=200, metavar="MS",
                     help="GStreamer rtspsrc jitter buffer in milliseconds (default %(default)s)")


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
    from ..outputs.maps import map_paths
    from ..outputs.sink import stream_path

    streams = len(args.sources)
    outputs = []
    for spec in _output_specs(args):
        if spec.kind == "video":
            outputs += [Output(stream_path(spec.target, i, streams), "output video") for i in range(streams)]
    if args.jsonl:
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
    from ..outputs.jsonl import JsonLinesSink
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
        for line in summary.lines():
            print(line)
        for sink in sinks:  # only what this run completed
            for line in sink.report():
                print(line)
        return INTERRUPTED if pipeline.stop_reason == "interrupted" else 0
    finally:
        for sig, handler in previous:
            signal.signal(sig, handler)
        if runner is not None:
            runner.deactivate()
        for source in sources:
            source.close()
