"""The FFmpeg encoder: raw BGR frames piped into an ``ffmpeg`` process (a binary on PATH, ``$EDGE_SALIENCY_FFMPEG``
or the ``[video]`` extra's imageio-ffmpeg), libx264 / libx265 into any container or network stream."""
import collections
import os
import shutil
import subprocess
import threading
from typing import Deque, Dict, List, Optional, Tuple

import numpy as np

from .encoder import (
    Encoder,
    EncoderError,
    EncoderOptions,
    _container,
)

FFMPEG_ENV = "EDGE_SALIENCY_FFMPEG"


# codec -> FFmpeg encoders, first present wins (software: they run anywhere)
FFMPEG_ENCODERS = {"h264": ("libx264",), "h265": ("libx265",), "mjpeg": ("mjpeg",), "mpeg4": ("mpeg4",)}


# FFmpeg muxer per container / URL scheme (the temp files of atomic outputs keep the extension; -f makes it explicit)
FFMPEG_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi", ".ts": "mpegts",
                  "rtp": "rtp", "udp": "mpegts", "tcp": "mpegts", "srt": "mpegts", "rtsp": "rtsp", "rtmp": "flv"}




_ffmpeg_encoders: Dict[str, Tuple[str, ...]] = {}


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
