"""Several outputs committed together (:class:`OutputGroup`): all of them, or none; a target that cannot be replaced
rolls back the ones already renamed."""
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from .atomic import WRITE_ERRNOS, atomic_output, log
from .temps import temp_path


class OutputGroup:
    """Several outputs that appear together or not at all (an export's ONNX files, sidecars and reports; a run's
    videos, JSON lines and summary).

        with OutputGroup() as group:
            tmp = group.add("lite.onnx")      # an atomic_output's temp path
            ...                               # write every temp
        # on success: every file checked, then all renamed; on failure: every temp removed, no target touched

    A target that cannot be replaced after others were renamed rolls those back (their previous files come
    back from hard-linked backups where the file system has hard links).
    """

    def __init__(self, outputs: Sequence[atomic_output] = ()) -> None:
        self.outputs: List[atomic_output] = list(outputs)

    def add(self, path: Union[str, atomic_output], **kwargs: Any) -> str:
        output = path if isinstance(path, atomic_output) else atomic_output(path, **kwargs)
        tmp = output.tmp if output.opened else output.open()
        self.outputs.append(output)
        return tmp

    def output(self, tmp: str) -> atomic_output:
        return next(o for o in self.outputs if o.tmp == tmp)

    def discard(self) -> None:
        for output in self.outputs:
            output.discard()

    def commit(self) -> List[str]:
        """Check every output, then rename all of them; returns the committed paths."""
        try:
            for output in self.outputs:
                output.finish()
        except BaseException:
            self.discard()
            raise
        done: List[atomic_output] = []
        backups: Dict[str, Optional[str]] = {}
        try:
            for output in self.outputs:
                backups[output.path] = _backup(output.path)
                output.commit()
                done.append(output)
        except BaseException:
            for output in reversed(done):  # put the previous files back (a stream written in place has none)
                if not output.stream and _restore(output.path, backups.get(output.path), bool(output._existed)):
                    output.committed = False
            self.discard()
            _remove_all(backups.values())
            raise
        _remove_all(backups.values())
        return [o.path for o in done]

    def __enter__(self) -> "OutputGroup":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.commit()
            return
        self.discard()
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            named = [o for o in self.outputs if exc.filename in (o.tmp, o.path)]
            if named or (exc.filename is None and len(self.outputs) == 1):
                raise (named or self.outputs)[0].error(exc) from None


def _backup(path: str) -> Optional[str]:
    """A hard link to the current ``path`` (None when there is none, or the file system cannot link)."""
    if not os.path.isfile(path):
        return None
    backup = temp_path(path, "bak")
    try:
        os.link(path, backup)
    except OSError:
        return None
    return backup


def _restore(path: str, backup: Optional[str], existed: bool) -> bool:
    """Put back what ``path`` was before the commit; False when that is impossible (the new file stays)."""
    try:
        if backup:
            os.replace(backup, path)
        elif not existed:
            os.remove(path)
        else:  # no backup of the previous file: keep the new, complete one rather than nothing
            log.warning("%s was replaced and its previous version could not be kept (no hard links here)", path)
            return False
    except OSError as exc:
        log.warning("could not restore the previous %s: %s", path, exc.strerror or exc)
        return False
    return True


def _remove_all(paths: Any) -> None:
    for path in paths:
        if path:
            try:
                os.remove(path)
            except OSError:
                pass
