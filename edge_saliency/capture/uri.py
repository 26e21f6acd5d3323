"""Source URIs: what a source string names (file, camera, stream, CSI, GStreamer pipeline, images), credentials
masked in every line that shows one, and the reconnect back-off. Pure Python: no I/O beyond the file system."""
import dataclasses
import os
import re
from typing import Any

from ..errors import UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2")


STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


LIVE_KINDS = ("camera", "stream", "csi", "gstreamer")


_SECRET_KEYS = r"(?:password|passwd|pwd|pass|token|access_token|key|apikey|api_key|secret|auth|signature|sig)"


def mask_url(text: str) -> str:
    """``text`` with URL credentials (``scheme://user:pass@``) and secret query values replaced by ``***``."""
    # quotes end a value too: pipeline text quotes its locations (location="rtsp://...")
    text = re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s\"']+@", r"\1***@", str(text))
    return re.sub(r"([?&;]" + _SECRET_KEYS + r"=)[^&;\s\"']*", r"\1***", text, flags=re.I)


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


def backoff_delay(attempt: int, first: float = 0.5, cap: float = 10.0) -> float:
    """Seconds to wait before reconnect ``attempt`` (1, 2, ...): 0.5, 1, 2, 4, 8, 10, 10, ..."""
    return min(cap, first * (2 ** min(attempt - 1, 16)))
