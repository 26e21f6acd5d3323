"""Atomic outputs: the one way edge-saliency writes a file.

Every file (weights, ONNX, engine, sidecar, video, JSON lines, maps, reports) is written to a temp file beside
its target and renamed over the target only when it is complete and checked, so a failure or an interruption
never leaves a half-written file under the final name, and the previous file stays until the new one is whole:

- the temp name is unique per output (``.NAME.tmp<pid>-<n>.EXT``: the writer's pid and a counter; the
  extension stays last because writers such as OpenCV and safetensors look at it);
- before a write, temp files of the same target left by a process that is no longer running (a killed run)
  are removed, with a note;
- a failed write (disk full, file size limit, I/O error, read-only or vanished folder, a target that cannot be
  replaced) removes the temp file and raises :class:`OutputError`, one line naming the file, the cause and
  the fix; the previous file is unchanged;
- before the rename the temp file is flushed to the disk (``fsync``) and, where the writer gives one, checked
  (a video is re-opened: frame count and size);
- :class:`~.output_group.OutputGroup` commits several files together: all of them, or none (a target that cannot
  be replaced rolls back the ones already renamed).

Pure Python; Python 3.8.
"""
import errno
import logging
import os
import stat
from typing import Any, Callable, List, Optional, Union

from ..errors import UserError
from .temps import remove_stale, temp_path

log = logging.getLogger("edge_saliency.files.atomic")

# Read once at import (os.umask can only be read by setting it, which is racy once threads run).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


# errors that mean "this file could not be written", and what to do about each
_CAUSES = {
    errno.ENOSPC: ("no space left on the device", "free some space or write to another disk"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write to another disk"),
    errno.EFBIG: ("file too large for this process or file system (ulimit -f, or the file system's maximum file "
                  "size)", "raise the limit or write to another file system"),
    errno.EIO: ("input/output error (a failing or removed disk?)", "check the device, or write to another disk"),
    errno.EROFS: ("read-only file system", "write to another folder"),
    errno.EACCES: ("permission denied", "check the folder's permissions, or write to another folder"),
    errno.EPERM: ("operation not permitted (a read-only folder, or an immutable file: see lsattr)",
                  "check the folder and the old file (chattr -i), or write to another folder"),
    errno.ENOENT: ("its folder no longer exists", "keep the output folder while edge-saliency writes to it"),
    errno.ENOTDIR: ("a part of its folder path is a file", "choose another folder"),
    errno.EEXIST: ("a part of its folder path is a file", "choose another folder"),
    errno.EISDIR: ("it is a folder", "give a file name"),
}
WRITE_ERRNOS = frozenset(_CAUSES)


class OutputError(UserError):
    """A file could not be written; the message names it, the cause and the fix. Any previous file under that
    name is unchanged."""

    def __init__(self, message: str, errno_: Optional[int] = None) -> None:
        super().__init__(message)
        self.errno = errno_


def output_error(exc: Union[OSError, str], path: str, what: str = "", existed: Optional[bool] = None,
                 code: Optional[int] = None) -> OutputError:
    """The :class:`OutputError` for a failed write of ``path`` (``exc``: the OSError, or a cause in words)."""
    if isinstance(exc, OSError):
        code = exc.errno
        cause, fix = _CAUSES.get(exc.errno or 0, (exc.strerror or str(exc), "write to another folder"))
    else:
        cause, fix = _CAUSES.get(code or 0, (exc, "write to another folder"))
        cause = exc if code is None else cause
    if existed is None:
        existed = os.path.lexists(path)
    kept = "the previous {} is unchanged".format(os.path.basename(path)) if existed else "nothing was written"
    return OutputError("cannot write {}{}: {}; {} ({})".format(what + " " if what else "", path, cause, fix, kept),
                       code)


def _fsync_folder(folder: str) -> None:
    """Make a rename durable (POSIX); a best effort where folders cannot be opened."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class atomic_output:
    """One output file: ``with atomic_output(path) as tmp:`` write ``tmp``; on success it is checked and renamed
    over ``path``; on any failure (including KeyboardInterrupt) it is removed and ``path`` is untouched.

    ``verify(tmp)`` (optional) checks the finished file and raises :class:`OutputError` when it is not what was
    written. ``durable``: fsync the file before the rename (off for many small files such as per-frame maps).
    ``what`` names the output in messages ("output video"). ``one_of_many``: one of many files (per-frame maps)
    in a folder the writer prepared and cleaned once: the folder is not created again (a folder removed during
    the run is an error) and not searched for stale temp files on every file. Without the ``with`` block, call
    :meth:`open`, then :meth:`finish` + :meth:`commit` (or an :class:`~.output_group.OutputGroup`), or :meth:`discard`.
    """

    def __init__(self, path: str, verify: Optional[Callable[[str], None]] = None, durable: bool = True,
                 what: str = "", one_of_many: bool = False) -> None:
        self.path = os.fspath(path)
        self.verify = verify
        self.durable = durable
        self.what = what
        self.one_of_many = one_of_many
        self.tmp = temp_path(self.path)
        self.committed = False
        self.opened = False
        self.checked = False
        self._existed: Optional[bool] = None
        self._created: List[str] = []  # folders open() made, removed again when nothing is committed
        self.stream = special_file(self.path) is not None  # written in place (see special_file)

    # -- steps ------------------------------------------------------------------------------------------
    def open(self) -> str:
        """Create the folder, remove stale temp files of this target; returns the temp path to write (the target
        itself when it is a device, FIFO or socket: a stream is written in place)."""
        if self.stream:
            self.tmp, self._existed, self.opened = self.path, True, True
            return self.tmp
        if self.one_of_many:
            if not os.path.isdir(os.path.dirname(self.tmp)):
                raise output_error(FileNotFoundError(errno.ENOENT, "gone", self.tmp), self.path, self.what, False)
        else:
            try:
                self._created = make_folders(os.path.dirname(self.tmp))
            except OSError as exc:
                raise output_error(exc, self.path, self.what) from None
            remove_stale(self.path)
        self._existed = os.path.lexists(self.path)
        self.opened = True
        return self.tmp

    def error(self, exc: Union[OSError, str], code: Optional[int] = None) -> OutputError:
        """The :class:`OutputError` for this output."""
        return output_error(exc, self.path, self.what, self._existed, code)

    def finish(self) -> None:
        """Check the temp file is there and whole (fsync, ``verify``) and give it the usual permissions."""
        if self.checked or self.stream:
            self.checked = True
            return
        try:
            if not os.path.isfile(self.tmp):
                raise FileNotFoundError(errno.ENOENT, "no such file", self.tmp)
            # some writers (safetensors) create 0600 files; give artifacts the permissions open() would
            os.chmod(self.tmp, 0o666 & ~_UMASK)
            if self.durable:
                fd = os.open(self.tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise self.error(exc) from None
        if self.verify is not None:
            self.verify(self.tmp)
        self.checked = True

    def commit(self) -> None:
        """Rename the finished temp file over the target."""
        if self.stream:  # already written where it goes
            self.committed = True
            return
        try:
            os.replace(self.tmp, self.path)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM) and os.path.lexists(self.path):
                raise OutputError("cannot replace {}{}: {} cannot be replaced (immutable or protected: see lsattr; "
                                  "permission denied); make it writable (chattr -i) or write to another file (the "
                                  "previous {} is unchanged)".format(self.what + " " if self.what else "", self.path,
                                                                     self.path, os.path.basename(self.path)),
                                  exc.errno) from None
            raise self.error(exc) from None
        self.committed = True
        if self.durable:
            _fsync_folder(os.path.dirname(os.path.abspath(self.path)))

    def discard(self) -> None:
        """Remove the temp file (nothing happens to the target)."""
        if self.stream:  # the target itself: never removed
            return
        try:
            os.remove(self.tmp)
        except OSError:  # never written, or its folder is gone
            pass
        remove_empty_folders(self._created)

    # -- context manager --------------------------------------------------------------------------------
    def __enter__(self) -> str:
        return self.open()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            try:
                self.finish()
                self.commit()
            except BaseException:
                self.discard()
                raise
            return
        self.discard()
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS and exc.filename in (None, self.tmp, self.path):
            raise self.error(exc) from None


def special_file(path: str) -> Optional[str]:
    """What an existing ``path`` is when it is neither a regular file nor a folder (a symlink followed): "a
    character device", "a FIFO", "a socket", "a block device"; None otherwise. Such a target is written in place,
    as a stream: never renamed over, never deleted (``--jsonl /dev/null`` as root must not replace /dev/null)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return None


def make_folders(folder: str) -> List[str]:
    """Create ``folder`` and its missing parents; returns those this call created, outermost first (for
    :func:`remove_empty_folders` when the work that needed them wrote nothing)."""
    missing: List[str] = []
    current = os.path.abspath(folder)
    while not os.path.isdir(current) and current != os.path.dirname(current):
        missing.append(current)
        current = os.path.dirname(current)
    os.makedirs(folder, exist_ok=True)
    return missing[::-1]


def remove_empty_folders(folders: List[str]) -> None:
    """Remove the folders :func:`make_folders` created, innermost first, where they are still empty."""
    for folder in reversed(folders):
        try:
            os.rmdir(folder)
        except OSError:  # not empty (another writer's files), or gone
            return


def check_writable(path: str, what: str = "output") -> None:
    """Fail now, with one line, if ``path`` cannot be written (before hours of work, not after). Leaves nothing
    behind: the folders it had to create for the probe are removed again (the writer creates them)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UserError("{} {} is a folder; give a file name".format(what, path))
    if special_file(path):  # written in place: no temp file beside it (never one in /dev)
        if not os.access(path, os.W_OK):
            raise output_error(PermissionError(errno.EACCES, "permission denied", path), path, what)
        return
    probe = temp_path(path)
    created: List[str] = []
    try:
        created = make_folders(os.path.dirname(probe))
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as exc:
        raise output_error(exc, path, what) from None
    finally:
        remove_empty_folders(created)


def write_blocked(path: str) -> Optional[int]:
    """Why writes to ``path`` fail now, as far as can be seen from outside the writer: ENOSPC (its file system
    is full), EFBIG (it reached this process's file size limit, ``ulimit -f``), or None."""
    try:
        stats = os.statvfs(os.path.dirname(os.path.abspath(path)))
        free = stats.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else stats.f_bavail
        if free == 0:
            return errno.ENOSPC
    except (OSError, AttributeError):  # no statvfs (Windows), or the folder is gone
        pass
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY and os.path.getsize(path) >= limit:
            return errno.EFBIG
    except (ImportError, OSError, ValueError):
        pass
    return None


def write_temp(tmp: str, data: bytes, output: Optional[atomic_output] = None) -> None:
    """Write ``data`` to a temp file; a failure removes it and names the output's final path (``output``) or
    ``tmp``."""
    try:
        with open(tmp, "wb") as f:
            f.write(data)
    except OSError as exc:
        if output is not None:
            output.discard()  # the temp file, never a stream target written in place
        else:
            try:
                os.remove(tmp)
            except OSError:
                pass
        if output is not None:
            raise output.error(exc) from None
        raise output_error(exc, tmp) from None


def atomic_write_bytes(path: str, data: bytes, what: str = "") -> None:
    output = atomic_output(path, what=what)
    with output as tmp:
        write_temp(tmp, data, output)


def atomic_write_text(path: str, text: str, what: str = "") -> None:
    """Write a text file through a temp file and a rename, so readers never see half a file."""
    atomic_write_bytes(path, text.encode("utf-8"), what)


