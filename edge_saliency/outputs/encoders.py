"""Video encoders behind one small interface: ``open_encoder(target, size, fps, backend, options)`` →
``write(frame)`` per BGR uint8 frame → ``close()``.

Backends (``--encoder``):

- ``opencv`` — OpenCV's ``VideoWriter`` (its FFmpeg backend; the codec by FourCC: mp4v, MJPG, avc1 where the
  build has H.264 — pip wheels do not). Encoding runs on the calling thread (OpenCV releases the GIL).
- ``ffmpeg`` — an FFmpeg process fed raw BGR frames through a pipe (``libx264 -preset ultrafast`` by default):
  the binary of the ``imageio-ffmpeg`` wheel (``pip install edge-saliency[video]``), ``$EDGE_SALIENCY_FFMPEG``,
  or ``ffmpeg`` on PATH. The encoder runs in its own process, in parallel with the pipeline.
- ``gstreamer`` — a GStreamer pipeline through OpenCV's ``CAP_GSTREAMER`` writer: Jetson's hardware
  ``nvv4l2h264enc`` / ``nvv4l2h265enc`` when they exist (probed, :mod:`.gstreamer`), else ``x264enc``.
- ``auto`` — the first that opens of: GStreamer with a *hardware* encoder, the FFmpeg process, OpenCV. With an
  explicit ``--fourcc`` OpenCV comes first (the FourCC names an OpenCV codec).

``target`` is a file path or a URL (``rtp://HOST:PORT``, ``udp://``, ``rtsp://``, ``tcp://``...), so network
outputs reuse the same encoders. :func:`probe` says what this machine has. Measured costs: docs/performance.md.
Python 3.8.

Long on purpose: three encoder backends behind one interface, their probes and the automatic choice with fallback; a
backend's probe and its writer belong together.
"""
import collections
import dataclasses
import logging
import os
import shutil
import subprocess
import threading
import time
from typing import Any, Deque, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..capture import gstreamer
from ..errors import UserError

log = logging.getLogger("edge_saliency.outputs")

BACKENDS = ("auto", "opencv", "ffmpeg", "gstreamer")
CODECS = ("h264", "h265", "mjpeg", "mpeg4")
FFMPEG_ENV = "EDGE_SALIENCY_FFMPEG"
# container -> the OpenCV FourCC every OpenCV/FFmpeg build writes
OPENCV_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}
# FourCC (lower case) -> codec, so a --fourcc can be honoured by the other backends too
FOURCC_CODECS = {"avc1": "h264", "h264": "h264", "x264": "h264", "hev1": "h265", "hvc1": "h265", "hevc": "h265",
                 "h265": "h265", "mjpg": "mjpeg", "mp4v": "mpeg4", "xvid": "mpeg4", "fmp4": "mpeg4", "divx": "mpeg4"}
CODEC_FOURCC = {"h264": "avc1", "h265": "hev1", "mjpeg": "MJPG", "mpeg4": "mp4v"}
# codec -> FFmpeg encoders, first present wins (software: they run anywhere)
FFMPEG_ENCODERS = {"h264": ("libx264",), "h265": ("libx265",), "mjpeg": ("mjpeg",), "mpeg4": ("mpeg4",)}
# FFmpeg muxer per container / URL scheme (the temp files of atomic outputs keep the extension; -f makes it explicit)
FFMPEG_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi", ".ts": "mpegts",
                  "rtp": "rtp", "udp": "mpegts", "tcp": "mpegts", "srt": "mpegts", "rtsp": "rtsp", "rtmp": "flv"}
NETWORK_SCHEMES = ("rtp", "udp", "tcp", "srt", "rtsp", "rtmp")


class EncoderError(UserError):
    """An encoder that cannot open, or failed while writing (the message says which backend and why)."""


@dataclasses.dataclass
class EncoderOptions:
    """How to encode. ``codec`` None: from ``fourcc``, else from the container (h264; .avi: mjpeg)."""

    codec: Optional[str] = None
    fourcc: Optional[str] = None  # an OpenCV FourCC (opencv backend; mapped to a codec for the others)
    preset: str = "ultrafast"  # x264 / x265 speed preset
    threads: Optional[int] = None  # encoder threads (None: the encoder's default)
    bitrate_kbps: Optional[int] = None  # None: constant quality (x264 crf 23) / the encoder's default
    gop: Optional[int] = None  # key-frame interval in frames (None: one second)
    container: Optional[str] = None  # FFmpeg muxer name (-f); None: from the target

    def validate(self) -> None:
        if self.codec is not None and self.codec not in CODECS:
            raise UserError("--codec must be one of {}, got {!r}".format(", ".join(CODECS), self.codec))
        if self.fourcc is not None and len(self.fourcc) != 4:
            raise UserError("--fourcc takes four characters (mp4v, MJPG, avc1...), got {!r}".format(self.fourcc))
        for name in ("threads", "bitrate_kbps", "gop"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError("encoder {} must be at least 1, got {}".format(name.replace("_", " "), value))


def _container(target: str) -> str:
    if "://" in target:
        return target.split("://", 1)[0].lower()
    return os.path.splitext(target)[1].lower()


def resolve_codec(target: str, options: EncoderOptions) -> str:
    """The codec to write: the option, else the FourCC's, else h264 (mjpeg in .avi)."""
    if options.codec:
        return options.codec
    if options.fourcc:
        return FOURCC_CODECS.get(options.fourcc.lower(), "")  # "" : an OpenCV-only FourCC
    return "mjpeg" if _container(target) == ".avi" else "h264"


def opencv_fourcc(target: str, options: EncoderOptions) -> str:
    """The FourCC the OpenCV backend writes: the option, else the codec's (when a codec was asked for), else the
    container's default (mp4v; .avi: MJPG)."""
    if options.fourcc:
        return options.fourcc
    if options.codec:
        return CODEC_FOURCC[options.codec]
    container = _container(target)
    if container not in OPENCV_FOURCC:
        raise UserError("cannot write video {}: unsupported container '{}'; use {} (or name a codec with "
                        "--fourcc)".format(target, container or "(no extension)", ", ".join(sorted(OPENCV_FOURCC))))
    return OPENCV_FOURCC[container]


# -- the interface ------------------------------------------------------------------------------------------


class Encoder:
    """One open encoder. ``write(frame)``: an H×W×3 BGR uint8 frame of the size given at open; ``close()``:
    finish the stream (the file is complete when it returns; raises :class:`EncoderError` when it failed);
    ``abort()``: stop without caring for the file."""

    backend = ""

    def __init__(self, target: str, size: Tuple[int, int], fps: float, codec: str) -> None:
        self.target, self.size, self.fps, self.codec = target, (int(size[0]), int(size[1])), float(fps), codec
        self.frames = 0
        self.description = ""  # what runs: the pipeline text, the command line, the FourCC

    def write(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 (aborting: the file is discarded anyway)
            pass

    def __enter__(self) -> "Encoder":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class OpenCVEncoder(Encoder):
    backend = "opencv"

    def __init__(self, target: str, size: Tuple[int, int], fps: float, fourcc: str,
                 threads: Optional[int] = None) -> None:
        super().__init__(target, size, fps, FOURCC_CODECS.get(fourcc.lower(), fourcc))
        cv2 = require("cv2", purpose="video output")
        self.fourcc = fourcc
        api = getattr(cv2, "CAP_FFMPEG", 0) if "://" not in target or target.startswith("file://") else 0
        with _ENV_LOCK:  # OpenCV's FFmpeg writer reads its codec options from the environment when it opens
            saved = os.environ.get("OPENCV_FFMPEG_WRITER_OPTIONS")
            if threads:
                os.environ["OPENCV_FFMPEG_WRITER_OPTIONS"] = "threads;{}".format(threads)
            try:
                self._writer = cv2.VideoWriter(target, api, cv2.VideoWriter_fourcc(*fourcc), self.fps,
                                               (self.size[1], self.size[0]))
            finally:
                if threads:
                    if saved is None:
                        os.environ.pop("OPENCV_FFMPEG_WRITER_OPTIONS", None)
                    else:
                        os.environ["OPENCV_FFMPEG_WRITER_OPTIONS"] = saved
        self.description = "OpenCV VideoWriter, FourCC {}{}".format(fourcc, ", {} threads".format(threads)
                                                                   if threads else "")
        if not self._writer.isOpened():
            raise EncoderError("OpenCV cannot write {} with FourCC '{}' (this OpenCV/FFmpeg has no encoder for "
                               "it)".format(target, fourcc))

    def write(self, frame: np.ndarray) -> None:
        self._writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        self._writer.release()  # finalizes the container (an mp4 needs its index written)


_ENV_LOCK = threading.Lock()


def ffmpeg_binary() -> Optional[str]:
    """The FFmpeg executable: ``$EDGE_SALIENCY_FFMPEG``, the imageio-ffmpeg wheel's, or ``ffmpeg`` on PATH."""
    explicit = os.environ.get(FFMPEG_ENV)
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    try:
        import imageio_ffmpeg

        path = imageio_ffmpeg.get_ffmpeg_exe()
        if path and os.path.isfile(path):
            return str(path)
    except (ImportError, RuntimeError):
        pass
    return shutil.which("ffmpeg")


_ffmpeg_encoders: Dict[str, Tuple[str, ...]] = {}


def ffmpeg_encoders(binary: str) -> Tuple[str, ...]:
    """The video encoders ``binary`` lists (``ffmpeg -encoders``), cached per binary."""
    if binary not in _ffmpeg_encoders:
        try:
            out = subprocess.run([binary, "-hide_banner", "-encoders"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, timeout=30, text=True).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        names = [line.split()[1] for line in out.splitlines()
                 if len(line.split()) > 1 and line.split()[0].startswith("V") and len(line.split()[0]) == 6]
        _ffmpeg_encoders[binary] = tuple(names)
    return _ffmpeg_encoders[binary]


def ffmpeg_command(binary: str, target: str, size: Tuple[int, int], fps: float, codec: str, encoder: str,
                   options: EncoderOptions) -> List[str]:
    """The FFmpeg command line that reads raw BGR frames of ``size`` (H, W) from stdin and writes ``target``."""
    h, w = size
    command = [binary, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
               "-s", "{}x{}".format(w, h), "-r", "{:g}".format(fps), "-i", "pipe:0", "-an", "-c:v", encoder]
    gop = options.gop or max(1, int(round(fps)))
    if encoder in ("libx264", "libx265"):
        # 4:2:0 needs even sides; 4:4:4 keeps odd ones exact (what OpenCV's reader and players decode)
        pixels = "yuv420p" if h % 2 == 0 and w % 2 == 0 else "yuv444p"
        command += ["-preset", options.preset, "-pix_fmt", pixels, "-g", str(gop)]
        command += ["-b:v", "{}k".format(options.bitrate_kbps)] if options.bitrate_kbps else ["-crf", "23"]
        if "://" in target:
            command += ["-tune", "zerolatency"]
    elif encoder == "mjpeg":
        command += ["-pix_fmt", "yuvj420p" if h % 2 == 0 and w % 2 == 0 else "yuvj444p", "-q:v", "3"]
    else:  # mpeg4
        command += ["-g", str(gop)] + (["-b:v", "{}k".format(options.bitrate_kbps)] if options.bitrate_kbps
                                       else ["-q:v", "5"])
    if options.threads:
        command += ["-threads", str(options.threads)]
    container = options.container or FFMPEG_FORMATS.get(_container(target))
    if container:
        command += ["-f", container]
    command.append(target)
    return command


def _mask(text: str) -> str:
    from ..capture.uri import mask_url

    return mask_url(text)


class FFmpegEncoder(Encoder):
    """Frames piped raw into an FFmpeg process; its errors (a full disk, a refused connection) are read from its
    stderr and raised as one line from the next write or from close."""

    backend = "ffmpeg"

    def __init__(self, target: str, size: Tuple[int, int], fps: float, codec: str, options: EncoderOptions,
                 binary: Optional[str] = None) -> None:
        super().__init__(target, size, fps, codec)
        binary = binary or ffmpeg_binary()
        if binary is None:
            raise EncoderError("no FFmpeg binary: pip install imageio-ffmpeg (edge-saliency[video]), install ffmpeg, "
                               "or set ${}".format(FFMPEG_ENV))
        present = ffmpeg_encoders(binary)
        encoder = next((e for e in FFMPEG_ENCODERS.get(codec, ()) if e in present), None)
        if encoder is None:
            raise EncoderError("FFmpeg {} has no encoder for {} (looked for {})".format(
                binary, codec or "this FourCC", ", ".join(FFMPEG_ENCODERS.get(codec, ())) or "none"))
        self.command = ffmpeg_command(binary, target, self.size, self.fps, codec, encoder, options)
        self.description = "FFmpeg process: " + _mask(" ".join(self.command))
        self._errors: Deque[str] = collections.deque(maxlen=20)
        if "://" not in target:
            try:  # the file exists from now on, as with OpenCV's writer (FFmpeg creates it only after some frames)
                open(target, "ab").close()
            except OSError as exc:
                raise EncoderError("cannot create {}: {}".format(target, exc.strerror or exc)) from None
        try:
            self._process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE)
        except OSError as exc:
            raise EncoderError("cannot start FFmpeg {}: {}".format(binary, exc)) from None
        self._reader = threading.Thread(target=self._read_errors, name="ffmpeg-stderr", daemon=True)
        self._reader.start()
        self._bytes = self.size[0] * self.size[1] * 3

    def _read_errors(self) -> None:
        assert self._process.stderr is not None
        for line in iter(self._process.stderr.readline, b""):
            text = line.decode("utf-8", "replace").strip()
            if text:
                self._errors.append(_mask(text))

    def _failure(self, what: str) -> EncoderError:
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._reader.join(timeout=2)
        detail = "; ".join(list(self._errors)[-3:]) or "exit status {}".format(self._process.returncode)
        return EncoderError("FFmpeg failed {} {}: {}".format(what, _mask(self.target), detail))

    def write(self, frame: np.ndarray) -> None:
        if frame.nbytes != self._bytes or frame.dtype != np.uint8:
            raise EncoderError("frame {} {} does not match the encoder's {}x{}x3 uint8".format(
                frame.shape, frame.dtype, self.size[0], self.size[1]))
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
        except (BrokenPipeError, ValueError, OSError):
            raise self._failure("writing") from None
        self.frames += 1

    def close(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            try:
                self._process.stdin.close()
            except OSError:
                pass
        try:
            code = self._process.wait(timeout=max(60.0, self.frames / 10.0))
        except subprocess.TimeoutExpired:
            self._process.kill()
            raise self._failure("finishing") from None
        self._reader.join(timeout=2)
        if code != 0:
            raise self._failure("finishing")

    def abort(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class GStreamerEncoder(Encoder):
    """A GStreamer pipeline (:func:`.gstreamer.encode_pipeline`) through OpenCV's CAP_GSTREAMER writer."""

    backend = "gstreamer"

    def __init__(self, target: str, size: Tuple[int, int], fps: float, codec: str, options: EncoderOptions,
                 probe: Optional[gstreamer.ElementProbe] = None, hardware_only: bool = False) -> None:
        super().__init__(target, size, fps, codec)
        probe = probe or gstreamer.default_probe()
        element, why = gstreamer.choose_encoder(codec, probe, hardware_only)
        if element is None:
            raise EncoderError("GStreamer cannot write {}: {}".format(_mask(target), why))
        try:
            self.pipeline = gstreamer.encode_pipeline(target, codec, element, self.fps, options.bitrate_kbps,
                                                      options.preset, options.threads, options.gop)
        except ValueError as exc:
            raise EncoderError("GStreamer cannot write {}: {}".format(_mask(target), exc)) from None
        self.element = element
        self.description = "GStreamer ({}): {}".format(why, _mask(self.pipeline))
        cv2 = require("cv2", purpose="video output")
        self._writer = cv2.VideoWriter(self.pipeline, cv2.CAP_GSTREAMER, 0, self.fps, (self.size[1], self.size[0]))
        if not self._writer.isOpened():
            raise EncoderError("the GStreamer pipeline did not open: {}".format(_mask(self.pipeline)))

    def write(self, frame: np.ndarray) -> None:
        self._writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        self._writer.release()  # sends end-of-stream: the muxer writes its index


# -- choosing --------------------------------------------------------------------------------------------------


def plan(target: str, backend: str = "auto", options: Optional[EncoderOptions] = None) -> List[str]:
    """The backends to try, in order, for ``backend`` (``auto``: see the module docstring)."""
    if backend not in BACKENDS:
        raise UserError("--encoder must be one of {}, got {!r}".format(", ".join(BACKENDS), backend))
    options = options or EncoderOptions()
    if backend != "auto":
        return [backend]
    if options.fourcc:
        return ["opencv", "ffmpeg", "gstreamer"]
    return ["gstreamer-hw", "ffmpeg", "opencv"]


def open_encoder(target: str, size: Sequence[int], fps: float, backend: str = "auto",
                 options: Optional[EncoderOptions] = None, probe: Optional[gstreamer.ElementProbe] = None) -> Encoder:
    """Open ``target`` for frames of ``size`` (H, W) at ``fps``, with ``backend`` or (``auto``) the first that opens.

    Raises :class:`EncoderError` naming every backend tried and why it did not open. The choice is logged at
    DEBUG (``-v``), with the pipeline text / command line.
    """
    options = options or EncoderOptions()
    options.validate()
    hw = (int(size[0]), int(size[1]))
    codec = resolve_codec(target, options)
    reasons: List[str] = []
    for choice in plan(target, backend, options):
        try:
            started = time.perf_counter()
            encoder: Encoder
            if choice == "opencv":
                encoder = OpenCVEncoder(target, hw, fps, opencv_fourcc(target, options), options.threads)
            elif choice == "ffmpeg":
                encoder = FFmpegEncoder(target, hw, fps, codec, options)
            else:
                encoder = GStreamerEncoder(target, hw, fps, codec, options, probe,
                                           hardware_only=choice == "gstreamer-hw")
        except EncoderError as exc:
            reasons.append("{}: {}".format(choice, exc))
            log.debug("encoder %s not used: %s", choice, exc)
            continue
        log.debug("video %s: %s (opened in %.0f ms)", _mask(target), encoder.description,
                 1000 * (time.perf_counter() - started))
        return encoder
    raise EncoderError("no video encoder could open {}: {}".format(_mask(target), " | ".join(reasons)))


def probe(element_probe: Optional[gstreamer.ElementProbe] = None) -> Dict[str, Dict[str, Any]]:
    """What this machine can encode with: per backend ``available`` and ``detail`` (the FFmpeg binary and its
    encoders; GStreamer's encoder per codec, hardware or not; OpenCV's version and whether it has H.264)."""
    result: Dict[str, Dict[str, Any]] = {}
    try:
        cv2 = require("cv2", purpose="video output")
        result["opencv"] = {"available": True, "detail": "OpenCV {}".format(cv2.__version__)}
    except UserError as exc:
        result["opencv"] = {"available": False, "detail": str(exc)}
    binary = ffmpeg_binary()
    if binary is None:
        result["ffmpeg"] = {"available": False, "detail": "no FFmpeg binary (pip install imageio-ffmpeg)"}
    else:
        present = ffmpeg_encoders(binary)
        codecs = {c: next((e for e in FFMPEG_ENCODERS[c] if e in present), None) for c in CODECS}
        result["ffmpeg"] = {"available": any(codecs.values()), "detail": binary, "encoders": codecs}
    element_probe = element_probe or gstreamer.default_probe()
    chosen = {c: gstreamer.choose_encoder(c, element_probe) for c in gstreamer.ENCODER_ELEMENTS}
    result["gstreamer"] = {"available": any(e for e, _ in chosen.values()),
                           "detail": "; ".join("{}: {}".format(c, why) for c, (_, why) in chosen.items()),
                           "encoders": {c: e for c, (e, _) in chosen.items()},
                           "hardware": any(e is not None and e.startswith("nv") for e, _ in chosen.values())}
    return result
