"""What is wrong with a video or image file that cannot be read, found from its bytes: a truncated MP4 / MOV
(a box past the end, no 'moov'), AVI (RIFF size) or Matroska, a truncated JPEG / PNG; and the container's codec."""
import os
import re
from typing import Any, Optional, Tuple


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
