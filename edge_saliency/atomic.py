"""Atomic file writes: a failure never leaves a half-written weights file, ONNX file, engine or video."""
import os
from typing import Any

# Read once at import (os.umask can only be read by setting it, which is racy once threads run).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write_text(path: str, text: str) -> None:
    """Write a text file through a temporary file and a rename, so readers never see half a file."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str, data: bytes) -> None:
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


class atomic_output:
    """Context manager yielding a temporary path next to ``path``; renamed over ``path`` on success,
    removed on any failure (including KeyboardInterrupt)."""

    def __init__(self, path: str) -> None:
        self.path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        base = os.path.basename(self.path)
        stem, ext = os.path.splitext(base)
        # keep the extension: some writers (safetensors, OpenCV) look at it
        self.tmp = os.path.join(directory, ".{}.tmp{}{}".format(stem, os.getpid(), ext))

    def __enter__(self) -> str:
        return self.tmp

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            # some writers (safetensors) create 0600 files; give artifacts the permissions open() would
            os.chmod(self.tmp, 0o666 & ~_UMASK)
            os.replace(self.tmp, self.path)
        elif os.path.exists(self.tmp):
            os.remove(self.tmp)
