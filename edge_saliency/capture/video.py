"""Sources that OpenCV's VideoCapture reads: video files, cameras, network streams and GStreamer pipelines
(CSI cameras), with reconnects for live sources and the reason a file cannot be read."""
import logging
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from ..errors import UserError
from ..pipeline.buffers import FramePool
from . import decoders
from .media import media_problem, probe_container
from .source import Source, SourceFrame, opencv
from .uri import backoff_delay, mask_url

log = logging.getLogger("edge_saliency.capture")


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
        cv2 = opencv()
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
            code = int(capture.get(opencv().CAP_PROP_FOURCC) or 0) if self._factory is None else 0
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
            cv2 = opencv()
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
        if self._factory is None and self.capture.set(opencv().CAP_PROP_POS_FRAMES, 0):
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


class _StreamSource(CaptureSource):
    """A network stream opened through FFmpeg with open/read timeouts (so a dead camera cannot hang us), or through
    the GStreamer pipeline ``--decoder`` chose (rtspsrc)."""

    def __init__(self, uri: str, url: str, properties: List[Tuple[int, float]], reconnect: int,
                 start_attempts: int = 0, plan: Optional[decoders.DecodePlan] = None) -> None:
        super().__init__(uri, "stream", url, reconnect=reconnect, properties=properties, start_attempts=start_attempts,
                         plan=plan or decoders.DecodePlan("opencv", "default", decoders.DecodeOptions()))
