"""Temp files beside their targets: the unique temp names every atomic output writes to (``.NAME.tmp<pid>-<n>.EXT``),
and the removal of those whose writer is no longer running (a killed run)."""
import itertools
import logging
import os
import re
import threading
from typing import List, Set

log = logging.getLogger("edge_saliency.files.temps")

_COUNTER = itertools.count()
# .NAME.tmp<pid>[-<n>]EXT (temp files) and .NAME.bak<pid>-<n>EXT (the previous file during a group commit);
# "tmp<pid>" without a counter is the form of edge-saliency <= 0.1
_TEMP = re.compile(r"^\.(?P<stem>.*)\.(?P<tag>tmp|bak)(?P<pid>\d+)(?:-\d+)?(?P<ext>\.[^./]*)?$")


def temp_path(path: str, tag: str = "tmp") -> str:
    """A new, unique temp name beside ``path``: ``.NAME.tmp<pid>-<n>.EXT``."""
    directory, base = os.path.split(os.path.abspath(os.fspath(path)))
    stem, ext = os.path.splitext(base)
    return os.path.join(directory, ".{}.{}{}-{}{}".format(stem, tag, os.getpid(), next(_COUNTER), ext))


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (on this machine's pid namespace). Unknown counts as alive."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill(pid, 0) is no probe on Windows: never call a temp file stale there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def _sweep(folder: str) -> List[str]:
    """Remove every temp file in ``folder`` whose writer is no longer running; one note line for them all."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".")]
    except OSError:
        return []
    removed, writers = [], set()
    for name in names:
        match = _TEMP.fullmatch(name)
        if not match:
            continue
        pid = int(match.group("pid"))
        if _alive(pid):
            continue
        path = os.path.join(folder, name)
        try:
            if not os.path.isfile(path) or os.path.islink(path):  # only the regular files we write
                continue
            os.remove(path)
        except FileNotFoundError:  # another process cleaned it first
            continue
        except OSError as exc:
            log.warning("cannot remove the stale temp file %s: %s", path, exc.strerror or exc)
            continue
        removed.append(path)
        writers.add(pid)
    if removed:
        log.info("removed %d temp file%s in %s left by interrupted runs (process%s %s, no longer running)",
                 len(removed), "" if len(removed) == 1 else "s", folder, "" if len(writers) == 1 else "es",
                 ", ".join(str(p) for p in sorted(writers)))
    return sorted(removed)


_SWEPT_LOCK = threading.Lock()
_SWEPT: Set[str] = set()  # folders swept by this process


def remove_stale(path: str) -> List[str]:
    """Before the first write into the folder of ``path``: remove every edge-saliency temp file there whose writer
    is no longer running (a killed run's, whatever target it was writing); returns their paths.

    Each folder is swept once per process (writing thousands of files into one folder stays linear): temp
    files of writers that die while this process runs are left for the next run."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    with _SWEPT_LOCK:
        if folder in _SWEPT:
            return []
        _SWEPT.add(folder)
    return _sweep(folder)


def remove_stale_in(folder: str) -> List[str]:
    """Sweep ``folder`` now (e.g. a maps folder before a run writes into it), swept before or not."""
    folder = os.path.abspath(folder)
    with _SWEPT_LOCK:
        _SWEPT.add(folder)
    return _sweep(folder)
