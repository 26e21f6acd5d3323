"""Temp files beside their targets: the unique temp names every atomic output writes to (``.NAME.tmp<pid>-<n>.EXT``),
and the removal of those whose writer is no longer running (a killed run)."""
import itertools
import logging
import os
import re
import threading
from typing import Dict, List, Optional, Sequence

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


def _remove_stale(folder: str, names: Sequence[str], target: Optional[str] = None) -> List[str]:
    removed = []
    for name in names:
        match = _TEMP.match(name)
        if not match:
            continue
        if target is not None and match.group("stem") + (match.group("ext") or "") != target:
            continue
        pid = int(match.group("pid"))
        if _alive(pid):
            continue
        path = os.path.join(folder, name)
        try:
            os.remove(path)
        except FileNotFoundError:  # another process cleaned it first
            continue
        except OSError as exc:
            log.warning("cannot remove the stale temp file %s: %s", path, exc.strerror or exc)
            continue
        log.info("removed %s: a temp file left by process %d, which is no longer running (an interrupted run)",
                 path, pid)
        removed.append(path)
    return removed


_TEMPS_LOCK = threading.Lock()


_TEMPS: Dict[str, Dict[str, List[str]]] = {}  # folder -> target -> temp names found there (listed once)


def remove_stale(path: str) -> List[str]:
    """Remove the temp files of target ``path`` whose writer is no longer running; returns their paths.

    Each folder is listed once per process (writing thousands of files into one folder stays linear): temp
    files of writers that die while this process runs are left for the next run."""
    folder, base = os.path.split(os.path.abspath(os.fspath(path)))
    with _TEMPS_LOCK:
        index = _TEMPS.get(folder)
        if index is None:
            try:
                names = os.listdir(folder)
            except OSError:
                return []
            index = _TEMPS[folder] = {}
            for name in names:
                match = _TEMP.match(name)
                if match:
                    index.setdefault(match.group("stem") + (match.group("ext") or ""), []).append(name)
        names = index.pop(base, [])
    return _remove_stale(folder, names, target=base)


def remove_stale_in(folder: str) -> List[str]:
    """Remove every temp file in ``folder`` whose writer is no longer running (e.g. a maps folder)."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".")]
    except OSError:
        return []
    return _remove_stale(folder, names)
