"""Per-frame maps: one PNG (uint8) and / or .npy (float32) file per frame, each committed as it is written."""
import os
import re
from typing import List, Optional, Sequence

import numpy as np

from ..errors import UserError
from ..files.atomic import (
    atomic_output,
    check_writable,
    make_folders,
    output_error,
    remove_empty_folders,
    write_temp,
)
from ..files.temps import remove_stale_in
from ..pipeline.packet import Packet
from .sink import MAP_FORMATS, Sink, StreamInfo, _cv2


class MapsSink(Sink):
    """Per-frame maps in a folder: PNG (uint8, frame size) and/or NPY (float32 in [0, 1], frame size)."""

    def __init__(self, folder: str, fmt: str = "png") -> None:
        if fmt not in MAP_FORMATS:
            raise UserError("--maps-format must be one of {}, got {!r}".format(", ".join(MAP_FORMATS), fmt))
        self.folder = os.fspath(folder)
        self.formats = ("png", "npy") if fmt == "both" else (fmt,)
        self.needs_float_map = "npy" in self.formats
        self.needs_map_u8 = "png" in self.formats
        self._prefix = False
        self._created: List[str] = []  # folders this sink made, removed again when it writes no map
        self.written = 0

    def describe(self) -> str:
        return self.folder

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Check the folder can be written and remove temporary files dead writers left in it."""
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise UserError("maps folder {} is a file; give a folder".format(self.folder))
        try:
            self._created = make_folders(self.folder)
        except OSError as exc:
            raise output_error(exc, self.folder, "maps folder") from None
        try:
            check_writable(os.path.join(self.folder, "probe"), "maps folder")
        except BaseException:
            remove_empty_folders(self._created)
            raise
        remove_stale_in(self.folder)
        self._prefix = len(streams) > 1

    def name(self, packet: Packet) -> str:
        """The file stem of a packet's map (the image's name, or its frame index; per stream when several)."""
        base = packet.name or "frame_{:06d}".format(packet.index)
        return "s{}_{}".format(packet.stream, base) if self._prefix else base

    def write(self, packet: Packet) -> None:
        """Write the frame's map (PNG and / or .npy)."""
        cv2 = _cv2()
        stem = os.path.join(self.folder, self.name(packet))
        if "png" in self.formats:
            # encoded here and written by Python, whose write errors say why (cv2.imwrite only returns False);
            # maps are many small files: no fsync each
            ok, png = cv2.imencode(".png", packet.map_u8)
            if not ok:
                raise UserError("OpenCV could not encode the map {}.png".format(stem))
            output = atomic_output(stem + ".png", durable=False, what="map", one_of_many=True)
            with output as tmp:
                write_temp(tmp, png.tobytes(), output)
        if "npy" in self.formats:
            with atomic_output(stem + ".npy", durable=False, what="map", one_of_many=True) as tmp:
                np.save(tmp, packet.map_float)
        self.written += 1

    def finish(self, ok: bool = True) -> None:
        """Each map was committed as it was written; a folder this run made and left empty is removed."""
        if not self.written:
            remove_empty_folders(self._created)

    def report(self) -> List[str]:
        return ["wrote {} maps into {}".format(self.written, self.folder)] if self.written else []


def map_paths(folder: str, fmt: str, names: Sequence[Optional[Sequence[str]]], inputs: Sequence[str] = ()) -> List[str]:
    """The files a maps sink would write into ``folder``, as far as they can be known before the run: for image
    sources (``names``: the stems per stream, None for other sources) every one; for videos and cameras
    (``frame_NNNNNN``) those that an input file already in ``folder`` could be."""
    formats = ("png", "npy") if fmt == "both" else (fmt,)
    prefix = len(names) > 1
    paths = []
    for stream, stems in enumerate(names):
        for stem in stems or ():
            base = "s{}_{}".format(stream, stem) if prefix else stem
            paths += [os.path.join(folder, "{}.{}".format(base, ext)) for ext in formats]
    real = os.path.realpath(folder)
    pattern = re.compile(r"(s\d+_)?frame_\d{6,}\.(" + "|".join(formats) + ")")
    for path in inputs:
        if os.path.realpath(os.path.dirname(os.path.abspath(path))) == real and pattern.fullmatch(
                os.path.basename(path)):
            paths.append(os.path.join(folder, os.path.basename(path)))
    return paths
