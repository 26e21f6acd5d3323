"""Frame sources by URI (after jetson-utils' ``videoSource``).

- ``clip.mp4``, ``file:///data/clip.mkv``: a video file, every frame in order (``loop`` restarts it).
- ``0``, ``/dev/video0``, ``v4l2:///dev/video1``: a camera (V4L2 on Linux).
- ``rtsp://user:pass@cam/stream``, ``rtsps://``, ``rtmp://``, ``http(s)://``, ``udp://``, ``srt://``: a network
  stream, reconnected with back-off when it drops.
- ``csi://0``: a Jetson CSI camera through GStreamer ``nvarguscamerasrc`` (needs OpenCV with GStreamer).
- ``gst://PIPELINE``, or any text with `` ! ``: a GStreamer pipeline ending in ``appsink``.
- ``photo.jpg``, ``frames/``, ``'frames/*.png'``: an image file, folder or glob (unreadable or truncated images
  are skipped with a warning and counted).

Cameras, streams, CSI and GStreamer are *live*: the pipeline keeps only the newest frame. A live source that
drops is reconnected with back-off; with an explicit ``reconnect`` one that is down at the start is retried the
same way. Every wait (back-off, a stalled open) ends at once on ``stop_event`` or Ctrl-C. A video that cannot be
opened is explained: a truncated or unfinished file is named as such (:func:`media_problem`), not as a codec
problem. Credentials in URLs are never logged: every message shows :func:`mask_url`'s form
(``rtsp://***@cam/stream``).

Long on purpose: every input kind (files, cameras, streams, CSI, GStreamer, images) and the URI parsing that picks
them, after jetson-utils' videoSource.
"""
import dataclasses
import glob
import logging
import os
import re
import sys
import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple

import numpy as np

from .._lazy import require
from ..errors import UserError
from ..pipeline.buffers import FramePool
from . import decoders

log = logging.getLogger("edge_saliency.capture")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2")
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
LIVE_KINDS = ("camera", "stream", "csi", "gstreamer")
_SECRET_KEYS = r"(?:password|passwd|pwd|pass|token|access_token|key|apikey|api_key|secret|auth|signature|sig)"


def _cv2() -> Any:
    return require("cv2", purpose="video sources")


def mask_url(text: str) -> str:
    """``text`` with URL credentials (``scheme://user:pass@``) and secret query values replaced by ``***``."""
    # quotes end a value too: pipeline text quotes its locations (location="rtsp://...")
    text = re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s\"']+@", r"\1***@", str(text))
    return re.sub(r"([?&;]" + _SECRET_KEYS + r"=)[^&;\s\"']*", r"\1***", text, flags=re.I)


@dataclasses.dataclass
class SourceFrame:
    """One frame read from a source, in OpenCV's BGR order (unlike the RGB images of export and predict)."""

    image: np.ndarray  # H×W×3 BGR uint8
    index: int  # position in the source (counts on across loops and reconnects)
    timestamp: float  # seconds: media time for files and images, since opening for live sources
    name: Optional[str] = None  # image sources: the file's stem


Frame = SourceFrame  # the former name, kept for code written against it


@dataclasses.dataclass
class SourceSpec:
    kind: str  # file | camera | stream | csi | gstreamer | images
    target: Any  # path, camera index or device, URL, sensor id, pipeline, or list of image paths / pattern
    uri: str  # as given, masked

    @property
    def live(self) -> bool:
        """True for cameras and streams, False for files and images."""
        return self.kind in LIVE_KINDS


def parse_uri(uri: str) -> SourceSpec:
    """What a source URI names (no I/O beyond looking at the file system)."""
    text = str(uri).strip()
    masked = mask_url(text)
    if not text:
        raise UserError("empty source: give a video file, camera index, stream URL, csi://N or images")
    if re.fullmatch(r"\d+", text):
        return SourceSpec("camera", int(text), masked)
    if text.startswith("v4l2://"):
        return SourceSpec("camera", text[len("v4l2://"):], masked)
    if re.fullmatch(r"/dev/video\d+", text):
        return SourceSpec("camera", text, masked)
    if text.startswith("csi://"):
        sensor = text[len("csi://"):]
        if not sensor.isdigit():
            raise UserError("a CSI camera is csi://N with N the sensor id (csi://0), got {}".format(masked))
        return SourceSpec("csi", int(sensor), masked)
    if text.startswith("gst://"):
        return SourceSpec("gstreamer", text[len("gst://"):].strip(), masked)
    if " ! " in text:
        return SourceSpec("gstreamer", text, masked)
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if scheme and scheme.group(1).lower() in STREAM_SCHEMES:
        return SourceSpec("stream", text, masked)
    if scheme and scheme.group(1).lower() == "file":
        text = text[len("file://"):]
    elif scheme:
        raise UserError("unknown source scheme {}:// in {}; use a file, camera index, /dev/videoN, {}://, csi://N or "
                        "gst://".format(scheme.group(1), masked, ":// ".join(STREAM_SCHEMES[:3])))
    if any(c in text for c in "*?[") and not os.path.exists(text):
        return SourceSpec("images", text, text)
    if os.path.isdir(text):
        return SourceSpec("images", text, text)
    if os.path.splitext(text)[1].lower() in IMAGE_EXTENSIONS:
        return SourceSpec("images", text, text)
    return SourceSpec("file", text, text)


def gstreamer_available() -> bool:
    """Whether this OpenCV was built with GStreamer (pip wheels are not; Jetson's system OpenCV is)."""
    match = re.search(r"GStreamer:\s*(\w+)", _cv2().getBuildInformation())
    return bool(match) and match.group(1).upper() == "YES"


def require_gstreamer(uri: str) -> None:
    """UserError naming what to install unless OpenCV was built with GStreamer (``csi://``, ``gst://``)."""
    if not gstreamer_available():
        raise UserError(
            "{} needs OpenCV built with GStreamer, and this OpenCV {} has none ({})".format(
                uri, _cv2().__version__, decoders.OPENCV_GSTREAMER_FIX))


def csi_pipeline(sensor_id: int = 0, width: int = 1280, height: int = 720, fps: float = 30.0, flip: int = 0) -> str:
    """The GStreamer pipeline for a Jetson CSI camera: nvarguscamerasrc → NVMM → nvvidconv → BGR appsink."""
    return (
        "nvarguscamerasrc sensor-id={s} ! video/x-raw(memory:NVMM), width=(int){w}, height=(int){h}, "
        "framerate=(fraction){f}/1 ! nvvidconv flip-method={flip} ! video/x-raw, width=(int){w}, height=(int){h}, "
        "format=(string)BGRx ! videoconvert ! video/x-raw, format=(string)BGR ! appsink drop=true max-buffers=1 "
        "sync=false".format(s=sensor_id, w=width, h=height, f=int(round(fps)), flip=flip)
    )


def with_appsink(pipeline: str) -> str:
    """A user pipeline, ending in a BGR appsink if it has none."""
    if "appsink" in pipeline:
        return pipeline
    return pipeline + " ! videoconvert ! video/x-raw, format=(string)BGR ! appsink drop=true max-buffers=1"


def backoff_delay(attempt: int, first: float = 0.5, cap: float = 10.0) -> float:
    """Seconds to wait before reconnect ``attempt`` (1, 2, ...): 0.5, 1, 2, 4, 8, 10, 10, ..."""
    return min(cap, first * (2 ** min(attempt - 1, 16)))


def _mp4_problem(f: Any, size: int) -> Optional[str]:
    """Walk the top-level boxes of an MP4/MOV file: a box reaching past the end, or no 'moov' (the index
    written last, when a recording is finished)."""
    position, kinds = 0, set()
    while position + 8 <= size:
        f.seek(position)
        head = f.read(16)
        length, kind = int.from_bytes(head[:4], "big"), head[4:8]
        if length == 1 and len(head) == 16:
            length = int.from_bytes(head[8:16], "big")
        elif length == 0:  # "to the end of the file"
            length = size - position
        if length < 8:
            return "the MP4 box structure is damaged at byte {}".format(position)
        kinds.add(kind)
        if position + length > size:
            return ("the file is truncated: its '{}' box needs {} bytes, the file ends after {} (an interrupted "
                    "copy, download or recording)".format(kind.decode("latin-1"), length, size - position))
        position += length
    if b"moov" not in kinds:
        return "the MP4 file has no 'moov' index (a recording that was not finished)"
    return None


def _ebml_number(data: bytes, at: int) -> Tuple[Optional[int], int]:
    """An EBML variable-size integer at ``at``: (value or None when "unknown", its length)."""
    first = data[at] if at < len(data) else 0
    length = next((i + 1 for i in range(8) if first & (0x80 >> i)), 0)
    if not length or at + length > len(data):
        return None, max(length, 1)
    value = first & (0xFF >> length)
    for byte in data[at + 1:at + length]:
        value = (value << 8) | byte
    return (None if value == (1 << (7 * length)) - 1 else value), length


def media_problem(path: str) -> Optional[str]:
    """Why a video file cannot be complete, from its container structure (MP4/MOV boxes, the AVI RIFF size,
    the Matroska segment size); None when it looks whole or the format is unknown."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(64)
            if head[4:8] == b"ftyp":
                return _mp4_problem(f, size)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        declared = int.from_bytes(head[4:8], "little") + 8
        if declared > size:
            return "the file is truncated: its AVI data needs {} bytes, the file has {}".format(declared, size)
        return None
    if head[:4] == b"\x1a\x45\xdf\xa3":
        header, length = _ebml_number(head, 4)
        at = 4 + length + (header or 0)
        if head[at:at + 4] == b"\x18\x53\x80\x67":
            segment, length = _ebml_number(head, at + 4)
            if segment is not None and at + 4 + length + segment > size:
                return "the file is truncated: its Matroska segment needs {} bytes, the file has {}".format(
                    at + 4 + length + segment, size)
    return None


def _jpeg_complete(data: bytes) -> bool:
    """Walk a JPEG's segments to its end-of-image marker (entropy-coded data skipped)."""
    position, size = 2, len(data)
    while position + 2 <= size:
        if data[position] != 0xFF:
            return False
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            return True
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            position += 2
            continue
        if position + 4 > size:
            return False
        position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
        if marker == 0xDA:  # scan data: up to the next marker that is not a stuffed 0xFF00 or a restart
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= size:
                    return False
                following = data[position + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    position += 2
                elif following == 0xFF:
                    position += 1
                else:
                    break
    return False


def image_problem(path: str) -> Optional[str]:
    """Why an image file is incomplete (a JPEG without its end marker, a PNG without its IEND chunk), or None.
    libjpeg would decode a truncated JPEG anyway, filling the missing part with grey."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return exc.strerror or str(exc)
    if data[:2] == b"\xff\xd8":
        if data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9") or _jpeg_complete(data):
            return None
        return "a truncated JPEG (it ends before its end-of-image marker)"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        position = 8
        while position + 8 <= len(data):
            length, kind = int.from_bytes(data[position:position + 4], "big"), data[position + 4:position + 8]
            position += 12 + length
            if kind == b"IEND":
                return None if position <= len(data) else "a truncated PNG"
        return "a truncated PNG (it ends before its IEND chunk)"
    return None


def probe_container(path: str) -> Tuple[Optional[str], Optional[str]]:
    """(container, video codec) from a file's bytes, best effort: AVI, MP4/MOV or Matroska; (None, None) when
    the file is not a video container at all. Used to tell "unsupported codec" from "not a video"."""
    try:
        with open(path, "rb") as f:
            head = f.read(4 << 20)
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - (1 << 20)))
            tail = f.read()
    except OSError:
        return None, None
    data = head + tail
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        at = data.find(b"vids")
        return "AVI", (data[at + 4:at + 8].decode("latin-1").strip("\x00 ") or None) if at >= 0 else None
    if head[4:8] == b"ftyp":
        at = data.find(b"stsd")
        return "MP4/MOV", data[at + 16:at + 20].decode("latin-1") if at >= 0 else None
    if head[:4] == b"\x1a\x45\xdf\xa3":
        match = re.search(rb"V_[A-Z0-9/_.]+", data)
        return "Matroska", match.group(0).decode("latin-1") if match else None
    return None, None


def cameras_present() -> List[str]:
    """The ``/dev/video*`` devices of this machine, in numeric order."""
    return sorted(glob.glob("/dev/video*"), key=lambda p: int(re.sub(r"\D", "", p) or 0))


def _natural_key(path: str) -> List[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path)]


class Source:
    """Base class. ``open()`` fails with one clear line; ``read()`` returns the next :class:`SourceFrame` or None at
    the end; ``close()`` releases. ``stop_event`` interrupts waits (reconnect back-off)."""

    kind = "source"

    def __init__(self, uri: str) -> None:
        self.uri = mask_url(uri)
        self.fps: Optional[float] = None
        self.frame_count: Optional[int] = None
        self.size: Optional[Tuple[int, int]] = None  # (H, W) of the first frame
        self.stop_event = threading.Event()
        self.skipped = 0  # unreadable images, undecodable frames
        self.reconnects = 0
        self.opened = False

    @property
    def live(self) -> bool:
        """True for cameras and streams (newest frame only), False for files and images (every frame)."""
        return self.kind in LIVE_KINDS

    def open(self) -> "Source":
        """Open the source and return it; UserError naming the source and the fix when it cannot."""
        raise NotImplementedError

    def read(self) -> Optional[SourceFrame]:
        """The next frame, or None at the end of the source."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds."""
        pass

    def __iter__(self) -> Iterator[SourceFrame]:
        """Every remaining frame, until the end of the source."""
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def __enter__(self) -> "Source":
        return self if self.opened else self.open()  # open_source gives an open source: not twice

    def __exit__(self, *exc: Any) -> None:
        self.close()


class CaptureSource(Source):
    """Anything ``cv2.VideoCapture`` reads: files, cameras, network streams, GStreamer pipelines.

    Live sources that stop giving frames are reopened after :func:`backoff_delay` (``reconnect`` attempts;
    negative: forever); one that cannot be opened at the start is retried the same way ``start_attempts``
    times (negative: forever; default none). Files end at their last decodable frame, or restart with ``loop``.
    """

    def __init__(self, uri: str, kind: str, target: Any, api: Optional[int] = None, reconnect: int = 0,
                 loop: bool = False, properties: Optional[List[Tuple[int, float]]] = None,
                 capture_factory: Optional[Callable[..., Any]] = None,
                 sleep: Optional[Callable[[float], Any]] = None, start_attempts: int = 0,
                 plan: Optional[decoders.DecodePlan] = None) -> None:
        super().__init__(uri)
        self.kind = kind
        self.target = target
        self.api = api
        self.reconnect = reconnect
        self.start_attempts = start_attempts
        self.loop = loop
        self.properties = list(properties or [])
        self._factory = capture_factory
        self.plan = plan  # files and streams: how they are decoded (--decoder); None: VideoCapture(target, api)
        self._sleep = sleep or self.stop_event.wait
        self.capture: Any = None
        self._pending: Optional[np.ndarray] = None
        self._index = 0  # frames given out
        self._position = 0  # frames read since the file was (re)opened
        self._started = 0.0
        self._loop_offset = 0.0
        # decoded frames go into reused buffers (pipeline/buffers.py: a fresh 1080p frame per read costs its page
        # faults); a buffer comes back once the pipeline let go of its frame. Fakes (capture_factory) read as they like
        self._pool = FramePool(limit=32) if capture_factory is None else None

    # -- opening --------------------------------------------------------------------------------------
    def _connect(self) -> Any:
        if self._factory is not None:
            return self._factory(self.target)
        if self.plan is not None:
            return self.plan.open(self.target, self.properties, any_backend=self.kind == "file")
        cv2 = _cv2()
        capture = cv2.VideoCapture(self.target) if self.api is None else cv2.VideoCapture(self.target, self.api)
        for prop, value in self.properties:
            capture.set(prop, value)
        return capture

    def _connect_live(self) -> Any:
        """``_connect`` for a live source, in a helper thread so that a stop (or Ctrl-C in the main thread) ends
        the wait at once even while FFmpeg or a driver stalls; None when stopped first (the capture it opens
        later is released there)."""
        if not self.live:
            return self._connect()
        result: List[Any] = []
        done = threading.Event()
        abandoned = threading.Event()

        def connect() -> None:
            try:
                result.append(self._connect())
            except BaseException as exc:  # noqa: B902 (handed to the waiting thread)
                result.append(exc)
            done.set()
            if abandoned.is_set() and result and hasattr(result[0], "release"):
                result[0].release()

        threading.Thread(target=connect, name="connect", daemon=True).start()
        try:
            while not done.wait(0.1):
                if self.stop_event.is_set():
                    abandoned.set()
                    return None
        except BaseException:
            abandoned.set()
            raise
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    def _first_frame(self) -> Tuple[Optional[np.ndarray], str]:
        """Connect and read one frame: (image, "") or (None, why not)."""
        capture = self._connect_live()
        if capture is None:
            return None, "{} {}: stopped while connecting".format(self.kind, self.uri)
        self.capture = capture
        if not capture.isOpened():
            return None, self._open_failure()
        ok, image = capture.read()
        if not ok or image is None:
            message = self._no_frames(capture)
            capture.release()
            return None, message
        return image, ""

    def _pipeline_failure(self, what: str) -> Optional[str]:
        if self.plan is None or self.plan.pipeline is None:
            return None
        return "the GStreamer pipeline for {} {} (try it with gst-launch-1.0): {}".format(
            self.uri, what, mask_url(self.plan.pipeline))

    def _open_failure(self) -> str:
        failure = self._pipeline_failure("did not open")
        if failure:
            return failure
        if self.kind == "file":
            problem = media_problem(self.target)
            if problem:
                return "cannot open video {}: {}; copy or record it again".format(self.uri, problem)
            container, codec = probe_container(self.target)
            if container:
                return ("cannot decode video {}: this OpenCV/FFmpeg has no decoder for its codec '{}' ({} file); "
                        "re-encode it, e.g. ffmpeg -i IN -c:v mpeg4 OUT.mp4".format(self.uri, codec or "unknown",
                                                                                   container))
            return ("cannot open video {}: not a video OpenCV/FFmpeg can read (unknown format, or a truncated "
                    "file)".format(self.uri))
        if self.kind == "camera":
            return "cannot open camera {} (in use by another program, or not a capture device?)".format(self.uri)
        if self.kind == "stream":
            return ("cannot open stream {}: no answer, wrong URL or credentials, or a protocol/codec this "
                    "OpenCV/FFmpeg lacks".format(self.uri))
        return "cannot start GStreamer source {} (check the pipeline with gst-launch-1.0)".format(self.uri)

    def _no_frames(self, capture: Any) -> str:
        failure = self._pipeline_failure("opened but gave no frame")
        if failure:
            return failure
        if self.kind == "file":
            problem = media_problem(self.target)
            if problem:
                return "cannot read video {}: {}; copy or record it again".format(self.uri, problem)
            code = int(capture.get(_cv2().CAP_PROP_FOURCC) or 0) if self._factory is None else 0
            fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00") or "unknown"
            return ("cannot decode video {}: this OpenCV/FFmpeg has no decoder for its codec '{}' (re-encode it, e.g. "
                    "ffmpeg -i IN -c:v mpeg4 OUT.mp4)".format(self.uri, fourcc))
        return "{} {} opened but gives no frames".format(self.kind, self.uri)

    def open(self) -> "CaptureSource":
        """Open the capture and read a first frame, reconnecting a live source as configured; UserError otherwise."""
        image, message = self._first_frame()
        attempt = 0
        while image is None:
            if not self.live or self.stop_event.is_set() or 0 <= self.start_attempts <= attempt:
                if attempt:
                    message += " (gave up after {} attempts to connect)".format(attempt + 1)
                self.close()
                raise UserError(message)
            attempt += 1
            delay = backoff_delay(attempt)
            log.warning("%s is down; retrying in %.1f s (attempt %d of %s)", self.uri, delay, attempt,
                        self.start_attempts if self.start_attempts >= 0 else "unlimited")
            self._sleep(delay)
            if not self.stop_event.is_set():
                image, message = self._first_frame()
        self._pending = image
        self.opened = True
        self.size = (int(image.shape[0]), int(image.shape[1]))
        if self._factory is None:
            cv2 = _cv2()
            fps = float(self.capture.get(cv2.CAP_PROP_FPS) or 0.0)
            self.fps = fps if 0.0 < fps < 1000.0 else None
            count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            self.frame_count = count if self.kind == "file" and count > 0 else None
        self._started = time.monotonic()
        return self

    # -- reading --------------------------------------------------------------------------------------
    def _frame(self, image: np.ndarray) -> SourceFrame:
        if self.live:
            timestamp = time.monotonic() - self._started
        else:  # media time: frames are read in order
            timestamp = self._loop_offset + (self._position / self.fps if self.fps else float(self._position))
            self._position += 1
        frame = SourceFrame(image, self._index, round(timestamp, 6))
        self._index += 1
        return frame

    def read(self) -> Optional[SourceFrame]:
        """The next frame, or None at the end (a live source reconnects first)."""
        if self._pending is not None:
            image, self._pending = self._pending, None
            return self._frame(image)
        if self.stop_event.is_set():
            return None
        if self._pool is not None and self.size is not None:  # OpenCV writes into a buffer of the frame's size
            ok, image = self.capture.read(self._pool.take(self.size + (3,)))
        else:
            ok, image = self.capture.read()
        if ok and image is not None:
            return self._frame(image)
        if self.live:
            return self._reconnect()
        return self._end_of_file()

    def _end_of_file(self) -> Optional[SourceFrame]:
        read = self._position
        if self.frame_count and read < self.frame_count - 1:
            self.skipped += self.frame_count - read
            problem = media_problem(self.target) if self.kind == "file" else None
            log.warning("%s: stopped at frame %d of %d (%s)", self.uri, read, self.frame_count,
                        problem or "the rest cannot be decoded")
        if not self.loop or read == 0:
            return None
        self._loop_offset += read / self.fps if self.fps else float(read)
        self._position = 0
        ok, image = False, None
        if self._factory is None and self.capture.set(_cv2().CAP_PROP_POS_FRAMES, 0):
            # rewinding keeps the decoder: reopening the file each loop costs time and, in FFmpeg, memory
            ok, image = self.capture.read()
        if not ok or image is None:
            self.capture.release()
            self.capture = self._connect()
            ok, image = self.capture.read() if self.capture.isOpened() else (False, None)
        return self._frame(image) if ok and image is not None else None

    def _reconnect(self) -> Optional[SourceFrame]:
        attempt = 0
        while self.reconnect < 0 or attempt < self.reconnect:
            attempt += 1
            delay = backoff_delay(attempt)
            log.warning("%s dropped; reconnecting in %.1f s (attempt %d of %s)", self.uri, delay, attempt,
                        self.reconnect if self.reconnect >= 0 else "unlimited")
            self._sleep(delay)
            if self.stop_event.is_set():
                return None
            self.capture.release()
            capture = self._connect_live()
            if capture is None:
                return None
            self.capture = capture
            if self.capture.isOpened():
                ok, image = self.capture.read()
                if ok and image is not None:
                    self.reconnects += 1
                    log.info("%s reconnected", self.uri)
                    return self._frame(image)
        if attempt:
            log.error("%s: no frames after %d reconnect attempts; stopping", self.uri, attempt)
        else:
            log.warning("%s stopped giving frames", self.uri)
        return None

    def close(self) -> None:
        """Release the OpenCV capture."""
        if self.capture is not None:
            self.capture.release()
            self.capture = None


class ImageSource(Source):
    """An image file, a folder of images (natural order) or a glob; unreadable images are skipped."""

    kind = "images"

    def __init__(self, uri: str, target: str, fps: Optional[float] = None, loop: bool = False) -> None:
        super().__init__(uri)
        self.target = target
        self.fps = fps or 10.0
        self.loop = loop
        self.paths: List[str] = []
        self._position = 0
        self._index = 0
        self._pending: Optional[SourceFrame] = None

    def open(self) -> "ImageSource":
        """List the images and read the first readable one; UserError when none can be read."""
        self.paths = list_images(self.target)
        self.frame_count = len(self.paths)
        self._pending = self.read()
        if self._pending is None:
            raise UserError("none of the {} image(s) in {} can be read".format(len(self.paths), self.target))
        self.size = (int(self._pending.image.shape[0]), int(self._pending.image.shape[1]))
        self.opened = True
        return self

    def read(self) -> Optional[SourceFrame]:
        """The next readable image (unreadable ones are skipped with a warning), or None at the end."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        cv2 = _cv2()
        while not self.stop_event.is_set():
            if self._position >= len(self.paths):
                if not self.loop or self._index == 0:
                    return None
                self._position = 0
            path = self.paths[self._position]
            self._position += 1
            problem = image_problem(path)  # before decoding: libjpeg fills a truncated JPEG with grey
            image = cv2.imread(path, cv2.IMREAD_COLOR) if problem is None else None
            if image is None:
                self.skipped += 1
                log.warning("skipping %s: %s", path, problem or "not an image OpenCV can read")
                continue
            frame = SourceFrame(image, self._index, round(self._index / self.fps, 6),
                          os.path.splitext(os.path.basename(path))[0])
            self._index += 1
            return frame
        return None


def list_images(target: str) -> List[str]:
    """The image files of an image source (a file, a folder, a glob), in natural order."""
    if os.path.isdir(target):
        paths = [os.path.join(target, n) for n in os.listdir(target)
                 if os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS]
        if not paths:
            raise UserError("no images in folder {} (looked for {})".format(target, " ".join(IMAGE_EXTENSIONS)))
    elif any(c in target for c in "*?[") and not os.path.exists(target):
        paths = [p for p in glob.glob(target) if os.path.isfile(p)]
        if not paths:
            raise UserError("no files match {}".format(target))
    else:
        if not os.path.isfile(target):
            raise UserError("image not found: {}".format(target))
        paths = [target]
    return sorted(paths, key=_natural_key)


def source_paths(uri: str) -> List[str]:
    """The files and folders a source reads (none for cameras and streams), without opening it."""
    spec = parse_uri(uri)
    if spec.kind == "file":
        return [spec.target]
    if spec.kind != "images":
        return []
    folder = [spec.target] if os.path.isdir(spec.target) else []
    try:
        return folder + list_images(spec.target)
    except UserError:  # opening the source says what is wrong
        return folder


def image_names(uri: str) -> Optional[List[str]]:
    """The frame names (file stems) an image source gives, None for other sources."""
    spec = parse_uri(uri)
    if spec.kind != "images":
        return None
    try:
        return [os.path.splitext(os.path.basename(p))[0] for p in list_images(spec.target)]
    except UserError:
        return []


def open_source(uri: str, loop: bool = False, reconnect: Optional[int] = None,
                capture_wh: Optional[Tuple[int, int]] = None, capture_fps: Optional[float] = None,
                flip: int = 0, image_fps: Optional[float] = None, stream_timeout: float = 10.0,
                decoder: str = "auto", decode_options: Optional[decoders.DecodeOptions] = None,
                probe: Any = None) -> Source:
    """Open the source ``uri`` names (see the module table); raises :class:`UserError` with one clear line.

    ``reconnect``: attempts for live sources when they drop (default 10 for network streams, 3 for cameras;
    negative: forever); given explicitly, also for one that is down at the start. ``capture_wh`` (width, height:
    the order cameras and V4L2 / nvarguscamerasrc take) / ``capture_fps``: asked of cameras and CSI. ``image_fps``:
    the frame rate given to image sources (timestamps, output video). ``stream_timeout``: seconds a network stream
    may stall opening (reading: half of it). Every other size in edge-saliency is (H, W).
    ``decoder`` / ``decode_options`` / ``probe`` (a :class:`.gstreamer.ElementProbe`): how video files and
    network streams are decoded (:mod:`.decoders`: ``auto``, ``opencv``, ``gstreamer``).
    """
    start = reconnect if reconnect is not None else 0
    spec = parse_uri(uri)
    source: Source
    if spec.kind == "images":
        source = ImageSource(spec.uri, spec.target, fps=image_fps, loop=loop)
        return source.open()
    cv2 = _cv2()
    plan = None
    if spec.kind == "file":
        if not os.path.exists(spec.target):
            raise UserError("source not found: {}".format(spec.uri))
        if not os.access(spec.target, os.R_OK):
            raise UserError("cannot read {}: permission denied".format(spec.uri))
    if spec.kind in ("file", "stream", "camera"):
        codec = probe_container(spec.target)[1] if spec.kind == "file" and decoder != "opencv" else None
        plan = decoders.plan_decode(spec.kind, spec.target, spec.uri, decoder, decode_options, codec, probe)
        if spec.kind == "camera":
            plan = None  # read through V4L2 (the plan only refused --decoder gstreamer)
        else:
            log.debug("decoder for %s: %s", spec.uri, plan.describe())
    if spec.kind == "file":
        source = CaptureSource(spec.uri, "file", spec.target, loop=loop, plan=plan)
    elif spec.kind == "camera":
        device = spec.target
        path = "/dev/video{}".format(device) if isinstance(device, int) else device
        if sys.platform.startswith("linux") and not os.path.exists(path):
            found = cameras_present()
            raise UserError("no camera at {} ({}): cameras here: {}".format(
                spec.uri, path, ", ".join(found) if found else "none"))
        props: List[Tuple[int, float]] = [(cv2.CAP_PROP_BUFFERSIZE, 1)]
        if capture_wh:
            props += [(cv2.CAP_PROP_FRAME_WIDTH, capture_wh[0]), (cv2.CAP_PROP_FRAME_HEIGHT, capture_wh[1])]
        if capture_fps:
            props.append((cv2.CAP_PROP_FPS, capture_fps))
        api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else None
        source = CaptureSource(spec.uri, "camera", device, api=api, properties=props,
                               reconnect=3 if reconnect is None else reconnect, start_attempts=start)
    elif spec.kind == "stream":
        props = []
        for name, value in (("CAP_PROP_OPEN_TIMEOUT_MSEC", stream_timeout * 1000),
                            ("CAP_PROP_READ_TIMEOUT_MSEC", stream_timeout * 500)):
            if hasattr(cv2, name):
                props.append((getattr(cv2, name), value))
        source = _StreamSource(spec.uri, spec.target, props, 10 if reconnect is None else reconnect, start, plan)
    else:
        require_gstreamer(spec.uri)
        if spec.kind == "csi":
            width, height = capture_wh or (1280, 720)
            pipeline = csi_pipeline(spec.target, width, height, capture_fps or 30.0, flip)
        else:
            pipeline = with_appsink(spec.target)
        source = CaptureSource(spec.uri, spec.kind, pipeline, api=cv2.CAP_GSTREAMER,
                               reconnect=3 if reconnect is None else reconnect, start_attempts=start)
    if plan is not None and plan.pipeline is not None and plan.fallback:
        return _open_or_fall_back(source)
    return source.open()


def _open_or_fall_back(source: Source) -> Source:
    """``--decoder auto``: open ``source`` through its GStreamer pipeline in one attempt; when that does not give a
    frame, warn with the reason and open it through OpenCV's FFmpeg backend (with the reconnects asked for)."""
    assert isinstance(source, CaptureSource) and source.plan is not None
    attempts = source.start_attempts
    source.start_attempts = 0
    try:
        return source.open()
    except UserError as exc:
        log.warning("%s; reading %s through OpenCV's FFmpeg backend instead", exc, source.uri)
    source.plan = source.plan.without_gstreamer()
    source.start_attempts = attempts
    return source.open()


class _StreamSource(CaptureSource):
    """A network stream opened through FFmpeg with open/read timeouts (so a dead camera cannot hang us), or through
    the GStreamer pipeline ``--decoder`` chose (rtspsrc)."""

    def __init__(self, uri: str, url: str, properties: List[Tuple[int, float]], reconnect: int,
                 start_attempts: int = 0, plan: Optional[decoders.DecodePlan] = None) -> None:
        super().__init__(uri, "stream", url, reconnect=reconnect, properties=properties, start_attempts=start_attempts,
                         plan=plan or decoders.DecodePlan("opencv", "default", decoders.DecodeOptions()))
