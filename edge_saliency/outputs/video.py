"""Video files: each frame's view encoded (OpenCV, FFmpeg or GStreamer: :mod:`.encoders`), written to a temp file and
re-opened (frame count and size) before it replaces anything; the disk is watched while it grows."""
import dataclasses
import errno
import logging
import os
import time
from typing import Any, Dict, Optional, Sequence, Tuple

from ..errors import UserError
from ..files.atomic import atomic_output, check_writable, special_file, write_blocked
from ..pipeline.packet import Packet
from .encoder import OPENCV_FOURCC, EncoderError, EncoderOptions
from .encoders import open_encoder
from .sink import (
    SPACE_CHECK_S,
    VIEWS,
    FileSink,
    StreamInfo,
    _cv2,
    check_fps,
    check_growing,
    stream_path,
    video_frame,
)

log = logging.getLogger("edge_saliency.outputs")

VIDEO_CODECS = OPENCV_FOURCC  # container -> a codec every OpenCV/FFmpeg build writes


def video_fourcc(path: str, fourcc: Optional[str] = None) -> str:
    """The codec for a video path: ``fourcc`` if given, else the container's default (mp4v, MJPG)."""
    extension = os.path.splitext(path)[1].lower()
    if fourcc:
        if len(fourcc) != 4:
            raise UserError("--fourcc takes four characters (mp4v, MJPG, avc1...), got {!r}".format(fourcc))
        return fourcc
    if extension not in VIDEO_CODECS:
        raise UserError("cannot write video {}: unsupported container '{}'; use {} (or name a codec with "
                        "--fourcc)".format(path, extension or "(no extension)", ", ".join(sorted(VIDEO_CODECS))))
    return VIDEO_CODECS[extension]


class VideoSink(FileSink):
    """A video file per stream (overlay, side-by-side or the raw map), at the source's fps and size, written by
    the encoder ``encoder`` names (:mod:`.encoders`: auto, opencv, ffmpeg, gstreamer)."""

    def __init__(self, path: str, view: str = "overlay", fourcc: Optional[str] = None, fps: Optional[float] = None,
                 hud: bool = False, encoder: str = "auto", options: Optional[EncoderOptions] = None) -> None:
        super().__init__()
        if view not in VIEWS:
            raise UserError("--view must be one of {}, got {!r}".format(", ".join(VIEWS), view))
        check_fps(fps)
        self.path = os.fspath(path)
        _refuse_special(self.path)  # before anything loads
        self.view = view
        self.views = (view,)
        self.fourcc = video_fourcc(self.path, fourcc)
        self.encoder = encoder
        options = options or EncoderOptions()
        self.options = dataclasses.replace(options, fourcc=fourcc or options.fourcc)
        self.options.validate()
        self.fps = fps
        self.hud = hud
        self._writers: Dict[int, Any] = {}
        self._outputs: Dict[int, atomic_output] = {}
        self._sizes: Dict[int, Tuple[int, int]] = {}
        self._checked = 0.0
        self.frames: Dict[int, int] = {}
        self.paths: Dict[int, str] = {}

    def describe(self) -> str:
        return self.path

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Open one video writer per stream (to a temporary file), at the stream's size and frame rate."""
        for stream in streams:
            path = stream_path(self.path, stream.index, len(streams))
            _refuse_special(path)
            check_writable(path, "output video")
        for stream in streams:
            path = stream_path(self.path, stream.index, len(streams))
            h, w = stream.size
            size = (h, 2 * w) if self.view == "side-by-side" else (h, w)
            output = atomic_output(path, what="output video")
            output.verify = self._verifier(stream.index, output)
            tmp = output.open()
            try:
                writer = open_encoder(tmp, size, float(self.fps or stream.fps), self.encoder, self.options)
            except EncoderError as exc:
                output.discard()
                self.finish(ok=False)
                if not os.path.isdir(os.path.dirname(os.path.abspath(tmp))):  # removed while the writer opened
                    raise output.error(FileNotFoundError(errno.ENOENT, "gone", tmp)) from None
                blocked = write_blocked(tmp)
                if blocked is not None:
                    raise output.error(os.strerror(blocked), blocked) from None
                if self.encoder != "auto" or self.options.fourcc:
                    raise UserError("cannot write video {} ({}); use --encoder auto, .mp4 (mp4v) or .avi (MJPG), or "
                                    "another --fourcc".format(path, str(exc).replace(tmp, path))) from None
                raise UserError("cannot write video {} with codec '{}': this OpenCV/FFmpeg has no encoder for it; use "
                                ".mp4 (mp4v) or .avi (MJPG), or another --fourcc".format(path, self.fourcc)) from None
            self._writers[stream.index], self._outputs[stream.index] = writer, output
            self._sizes[stream.index], self.frames[stream.index], self.paths[stream.index] = size, 0, path
        self._checked = time.monotonic()

    def write(self, packet: Packet) -> None:
        """Encode the frame's view (resized to the video's size if needed, with the HUD when asked)."""
        image = video_frame(packet, self.view, self._sizes[packet.stream], self.hud)
        try:
            self._writers[packet.stream].write(image)
        except EncoderError:
            check_growing(self._outputs[packet.stream])  # a full disk / removed folder says so; else the encoder's line
            raise
        self.frames[packet.stream] += 1
        now = time.monotonic()
        if now - self._checked >= SPACE_CHECK_S:
            self._checked = now
            for output in self._outputs.values():
                check_growing(output)

    def _verifier(self, index: int, output: atomic_output) -> Any:
        return lambda tmp: verify_video(output, lambda: self.frames.get(index, 0), self._sizes[index])

    def finish(self, ok: bool = True) -> None:
        failure: Optional[BaseException] = None
        for index, writer in list(self._writers.items()):
            output = self._outputs[index]
            try:
                writer.close() if ok else writer.abort()  # finalizes the container (an mp4 needs its index written)
            except EncoderError as exc:
                if failure is None:
                    blocked = write_blocked(output.tmp)
                    failure = output.error(os.strerror(blocked), blocked) if blocked is not None else exc
                output.discard()
                continue
            if ok and self.frames.get(index) and failure is None:
                try:
                    output.finish()  # fsync and read back now; the pipeline renames it with the others
                except BaseException as exc:
                    failure = exc
                    output.discard()
                    continue
                self._done.append(output)
            else:
                if ok and not self.frames.get(index):
                    log.warning("no frames for %s: not written", self.paths[index])
                output.discard()
        self._writers.clear()
        self._outputs.clear()
        if failure is not None:
            for output in self._done:
                output.discard()
            self._done.clear()
            raise failure


def verify_video(output: atomic_output, frames: Any, size: Tuple[int, int]) -> None:
    """The finished temp video of ``output`` must read back: ``frames()`` frames (the count when it is checked)
    of ``size`` (H, W); else :class:`OutputError` with the cause (a full disk, the file size limit, or a write
    OpenCV's writer failed silently)."""
    cv2 = _cv2()
    want = frames()
    capture = cv2.VideoCapture(output.tmp)
    try:
        opened = capture.isOpened()
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if opened else 0
        got = (int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
               int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)) if opened else (0, 0)
        readable = opened and capture.read()[0]
    finally:
        capture.release()
    if readable and count == want and got == tuple(size):
        return
    blocked = write_blocked(output.tmp)
    if blocked is not None:
        raise output.error(os.strerror(blocked), blocked)
    raise output.error("the finished video does not read back ({} of {} frames, {}x{} instead of {}x{}: a write "
                       "failed or the disk is failing)".format(count, want, got[1], got[0], size[1], size[0]),
                       errno.EIO)


def _refuse_special(path: str) -> None:
    """MP4 / AVI writers seek back to write their index: a device, FIFO or socket cannot take a video file."""
    kind = special_file(path)
    if kind:
        raise UserError("cannot write a video file to {}: it is {}, and a video container needs a seekable file; "
                        "give a file name, or stream it (-o rtp://HOST:PORT, -o rtsp://...)".format(path, kind))
