"""The options of ``edge-saliency run``, by group: model, TensorRT, post-processing, outputs, sources, decoding."""
import argparse
import os

from ..vocabulary import AUTO, BACKENDS, ENGINE_DIR, PRECISIONS
from .common import add_device_argument, add_plugin_argument, parse_pair, parse_size


def add_model_group(parser: argparse.ArgumentParser) -> None:
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


def add_tensorrt_group(parser: argparse.ArgumentParser) -> None:
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


def add_postprocess_group(parser: argparse.ArgumentParser) -> None:
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


def add_output_group(parser: argparse.ArgumentParser) -> None:
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
    out.add_argument("--jsonl", metavar="FILE", help="JSON lines: one record per frame (peak, bbox, mean, latency); "
                     "- writes them to standard output (the summary then goes to standard error)")
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


def add_source_group(parser: argparse.ArgumentParser) -> None:
    from ..pipeline.options import POLICIES

    src = parser.add_argument_group("sources")
    src.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames per source")
    src.add_argument("--loop", action="store_true", help="restart files and image folders at their end")
    src.add_argument("--policy", choices=POLICIES, default="auto",
                     help="auto: live sources keep only the newest frame (drop stale ones), files keep every "
                          "frame in order")
    src.add_argument("--queue-size", type=int, default=2, help="frames between two stages (default %(default)s)")
    src.add_argument("--reconnect", type=int, metavar="N",
                     help="attempts to reconnect a live source that drops, with back-off (default 10 for streams, "
                          "3 for cameras; -1: forever); given explicitly, a source that is down at the start is "
                          "retried as often too (by default it fails at once)")
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


def add_decoder_group(parser: argparse.ArgumentParser) -> None:
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
