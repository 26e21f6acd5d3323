"""Outputs never touch inputs: every output path of a command (video, JSON lines, maps folder and the maps it
would write, summary, ONNX files, engines, sidecars) is checked against the command's inputs and against the
other outputs before anything runs.

Paths are compared resolved (relative paths, ``..`` and symlinks), and existing files also by identity (hard
links), so ``run in.mp4 -o in.mp4``, ``--jsonl in.mp4``, a source that is a symlink to the output, ``--maps``
into the image folder being read and ``-o out.mp4 --jsonl out.mp4`` are refused with one line. An output is
also refused inside an input *folder* (an image folder, a calibration set): it would become part of that input.

A target that is not a local file (``http://``, ``rtp://``, ``rtsp://`` sinks and sources, cameras) is not a
path and is never checked. Pure Python; Python 3.8.
"""
import dataclasses
import os
import re
from typing import Dict, Iterable, List, Optional, Tuple

from ..errors import UserError
from .atomic import special_file

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclasses.dataclass(frozen=True)
class Output:
    """A file (or folder) a command will write; ``what`` names it in messages ("output video")."""

    path: str
    what: str
    folder: bool = False


def local_path(target: str) -> Optional[str]:
    """The file-system path ``target`` names, or None for a URI that is not a file (``http://``, ``rtp://``)."""
    text = os.fspath(target)
    match = _SCHEME.match(text)
    if match:
        return text[len("file://"):] if match.group(1).lower() == "file" else None
    return text


def resolve(path: str) -> str:
    """Absolute, with ``..`` and every symlink resolved (also for a file that does not exist yet)."""
    return os.path.realpath(os.path.abspath(path))


def _inside(path: str, folder: str) -> bool:
    return path != folder and path.startswith(folder.rstrip(os.sep) + os.sep)


def _identity(path: str) -> Optional[Tuple[int, int]]:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _named(what: str, given: str, real: str) -> str:
    """``what given``, plus where it really is when a symlink leads elsewhere."""
    if real != os.path.abspath(local_path(given) or given):
        return "{} {} (through a symlink: {})".format(what, given, real)
    return "{} {}".format(what, given)


def check_outputs(outputs: Iterable[Output], inputs: Iterable[str]) -> None:
    """Raise :class:`UserError` (one line) if an output is an input, lies inside an input folder, or is the
    same file as another output. ``inputs``: files and folders the command reads."""
    files: Dict[str, str] = {}
    identities: Dict[Tuple[int, int], str] = {}
    folders: List[Tuple[str, str]] = []
    for given in inputs:
        local = local_path(given)
        if local is None or not os.path.exists(local):
            continue
        real = resolve(local)
        if os.path.isdir(real):
            folders.append((real, given))
        else:
            files.setdefault(real, given)
            identity = _identity(real)
            if identity is not None:
                identities.setdefault(identity, given)
    seen: Dict[str, Output] = {}
    for output in outputs:
        local = local_path(output.path)
        if local is None:
            continue
        real = resolve(local)
        same = files.get(real)
        if same is None and not output.folder:
            identity = _identity(real)
            same = identities.get(identity) if identity is not None else None
        if same is None:
            same = next((given for folder, given in folders if folder == real), None)
        if same is not None:
            raise UserError("{} is {}: writing it would destroy the input; give the output another name".format(
                _named(output.what, output.path, real), _named("the input", same, resolve(local_path(same) or same))))
        inside = next((given for folder, given in folders if _inside(real, folder)), None)
        if inside is not None:
            raise UserError("{} is inside the input folder {}: it would mix with what is read; write it outside "
                            "{}".format(_named(output.what, output.path, real), inside, inside))
        other = seen.get(real)
        if other is not None and not special_file(real):  # two streams into one device (/dev/null) are fine
            raise UserError("{} and {} {} are the same file; give each output its own name".format(
                _named(output.what, output.path, real), other.what, other.path))
        seen[real] = output
