"""What every source gives: :class:`SourceFrame` and the :class:`Source` interface (open / read / close)."""
import dataclasses
import threading
from typing import Any, Iterator, Optional, Tuple

import numpy as np

from .._lazy import require
from .uri import LIVE_KINDS, mask_url


def opencv() -> Any:
    """OpenCV, imported on first use (every source reads through it)."""
    return require("cv2", purpose="video sources")


@dataclasses.dataclass
class SourceFrame:
    """One frame read from a source, in OpenCV's BGR order (unlike the RGB images of export and predict)."""

    image: np.ndarray  # H×W×3 BGR uint8
    index: int  # position in the source (counts on across loops and reconnects)
    timestamp: float  # seconds: media time for files and images, since opening for live sources
    name: Optional[str] = None  # image sources: the file's stem


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
