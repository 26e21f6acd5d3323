"""What every video encoder shares: its options and codecs, the :class:`Encoder` interface, and OpenCV's
VideoWriter (the encoder every install has)."""
import dataclasses
import os
import threading
from typing import Any, Optional, Tuple

import numpy as np

from .._lazy import require
from ..errors import UserError

CODECS = ("h264", "h265", "mjpeg", "mpeg4")


# container -> the OpenCV FourCC every OpenCV/FFmpeg build writes
OPENCV_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}


# FourCC (lower case) -> codec, so a --fourcc can be honoured by the other backends too
FOURCC_CODECS = {"avc1": "h264", "h264": "h264", "x264": "h264", "hev1": "h265", "hvc1": "h265", "hevc": "h265",
                 "h265": "h265", "mjpg": "mjpeg", "mp4v": "mpeg4", "xvid": "mpeg4", "fmp4": "mpeg4", "divx": "mpeg4"}


CODEC_FOURCC = {"h264": "avc1", "h265": "hev1", "mjpeg": "MJPG", "mpeg4": "mp4v"}


NETWORK_SCHEMES = ("rtp", "udp", "tcp", "srt", "rtsp", "rtmp")


_ENV_LOCK = threading.Lock()


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
