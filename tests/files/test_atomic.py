"""edge_saliency.files.atomic: unique temp names, stale temps of dead writers, errors that name the file and the cause,
checks before the rename, and groups that commit all or nothing."""
import errno
import os
import subprocess
import sys

import pytest

from edge_saliency.files import atomic, temps
from edge_saliency.files.atomic import OutputError, atomic_output, atomic_write_text, check_writable, output_error
from edge_saliency.files.output_group import OutputGroup
from edge_saliency.files.temps import temp_path


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def listing(folder):
    return sorted(os.listdir(folder))


def test_temp_names_are_unique_and_keep_the_extension(tmp_path):
    target = str(tmp_path / "out.mp4")
    first, second = temp_path(target), temp_path(target)
    assert first != second
    for name in (first, second):
        base = os.path.basename(name)
        assert base.startswith(".out.tmp{}-".format(os.getpid())) and base.endswith(".mp4")
        assert temps._TEMP.match(base)


def test_success_renames_and_failure_leaves_the_previous_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("previous")
    with pytest.raises(RuntimeError):
        with atomic_output(str(target)) as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "previous" and listing(tmp_path) == ["a.txt"]
    atomic_write_text(str(target), "new")
    assert target.read_text() == "new" and listing(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("code, cause", [(errno.ENOSPC, "no space left on the device"),
                                         (errno.EFBIG, "file too large .*ulimit -f"),
                                         (errno.EIO, "input/output error"),
                                         (errno.EROFS, "read-only file system"),
                                         (errno.EACCES, "permission denied"),
                                         (errno.ENOENT, "its folder no longer exists")])
def test_write_errors_name_the_file_the_cause_and_the_fix(tmp_path, code, cause):
    target = tmp_path / "out.jsonl"
    target.write_text("previous\n")
    with pytest.raises(OutputError, match="cannot write JSON lines .*out.jsonl: {}.*; .* \\(the previous out.jsonl "
                                          "is unchanged\\)".format(cause)) as info:
        with atomic_output(str(target), what="JSON lines") as tmp:
            open(tmp, "w").write("partial")
            raise OSError(code, os.strerror(code))  # what a write raises (no file name)
    assert info.value.errno == code
    assert target.read_text() == "previous\n" and listing(tmp_path) == ["out.jsonl"]


def test_an_error_about_another_file_passes_through(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_output(str(tmp_path / "out.txt")):
            open(str(tmp_path / "missing-input.txt"))
    assert listing(tmp_path) == []


def test_verify_runs_before_the_rename(tmp_path):
    target = tmp_path / "v.bin"
    target.write_bytes(b"previous")

    def verify(tmp):
        if open(tmp, "rb").read() != b"whole":
            raise output_error("it does not read back", str(target))

    with pytest.raises(OutputError, match="it does not read back"):
        with atomic_output(str(target), verify=verify) as tmp:
            open(tmp, "wb").write(b"torn")
    assert target.read_bytes() == b"previous" and listing(tmp_path) == ["v.bin"]
    with atomic_output(str(target), verify=verify) as tmp:
        open(tmp, "wb").write(b"whole")
    assert target.read_bytes() == b"whole"


def test_stale_temps_of_dead_writers_are_swept_per_folder_with_one_note(tmp_path, caplog):
    dead = dead_pid()
    stale = [tmp_path / ".out.tmp{}-3.mp4".format(dead), tmp_path / ".out.tmp{}.mp4".format(dead),  # old form too
             tmp_path / ".out.bak{}-1.mp4".format(dead),
             tmp_path / ".other.tmp{}-0.mp4".format(dead),  # another target, killed: the folder is swept
             tmp_path / ".maps.tmp{}-7.png".format(dead)]
    kept = [tmp_path / ".out.tmp{}-0.mp4".format(os.getppid()),  # a running writer
            tmp_path / ".out.mp4",  # not a temp name
            tmp_path / ".out.tmp{}-0.mp4.keep".format(dead),  # not exactly the pattern
            tmp_path / "out.tmp{}-0.mp4".format(dead)]  # no leading dot: not ours
    for path in stale + kept:
        path.write_bytes(b"x")
    (tmp_path / ".dir.tmp{}-0.d".format(dead)).mkdir()  # a folder is never ours to remove
    import logging

    with caplog.at_level(logging.INFO, logger="edge_saliency"):
        atomic_write_text(str(tmp_path / "fresh.txt"), "new")  # a run writing any file into the folder
    assert [p for p in stale if p.exists()] == [] and all(p.exists() for p in kept)
    assert (tmp_path / ".dir.tmp{}-0.d".format(dead)).is_dir()
    notes = [r.getMessage() for r in caplog.records if "temp file" in r.getMessage()]
    assert notes == ["removed 5 temp files in {} left by interrupted runs (process {}, no longer running)".format(
        tmp_path, dead)]
    assert temps.remove_stale_in(str(tmp_path)) == []


def test_a_group_commits_all_or_nothing(tmp_path):
    a, b = tmp_path / "a.onnx", tmp_path / "a.onnx.json"
    a.write_text("old model")
    with pytest.raises(KeyboardInterrupt):
        with OutputGroup() as group:
            open(group.add(str(a)), "w").write("new model")
            open(group.add(str(b)), "w").write("{}")
            raise KeyboardInterrupt
    assert a.read_text() == "old model" and listing(tmp_path) == ["a.onnx"]
    with OutputGroup() as group:
        open(group.add(str(a)), "w").write("new model")
        open(group.add(str(b)), "w").write("{}")
    assert a.read_text() == "new model" and b.read_text() == "{}" and listing(tmp_path) == ["a.onnx", "a.onnx.json"]


def test_a_target_that_cannot_be_replaced_rolls_the_group_back(tmp_path, monkeypatch):
    first, second, fresh = tmp_path / "video.mp4", tmp_path / "lines.jsonl", tmp_path / "summary.json"
    first.write_text("old video")
    second.write_text("old lines")
    real_replace = os.replace

    def replace(src, dst):
        if str(dst) == str(second):
            raise PermissionError(errno.EPERM, "Operation not permitted", str(src), None, str(dst))
        return real_replace(src, dst)

    group = OutputGroup()
    for path, text in ((first, "new video"), (fresh, "{}"), (second, "new lines")):
        open(group.add(str(path), what="output"), "w").write(text)
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OutputError, match="cannot replace output .*lines.jsonl: .*chattr -i"):
        group.commit()
    monkeypatch.setattr(os, "replace", real_replace)
    assert first.read_text() == "old video" and second.read_text() == "old lines" and not fresh.exists()
    assert listing(tmp_path) == ["lines.jsonl", "video.mp4"]  # no temp, no backup left


def test_check_writable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write output .*file/out.mp4: a part of its folder path is a file"):
        atomic.check_writable(str(blocker / "out.mp4"))
    atomic.check_writable(str(tmp_path / "new" / "deeper" / "out.mp4"))
    assert not (tmp_path / "new").exists()  # the probe and the folders made for it are gone: a check leaves nothing


def test_write_blocked_sees_the_file_size_limit(tmp_path):
    pytest.importorskip("resource")
    path = tmp_path / "f"
    path.write_bytes(b"x" * 4096)
    script = ("import resource, sys; sys.path.insert(0, {root!r});  "
              "from edge_saliency.files.atomic import write_blocked;"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)); print(write_blocked({p!r}))")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", script.format(root=root, p=str(path))], capture_output=True, text=True)
    assert out.stdout.strip() == str(errno.EFBIG), out.stderr
    assert atomic.write_blocked(str(path)) is None  # this process has no limit, and the disk has room


def _fifo_reader(path):
    """A reader waiting on the FIFO ``path`` (as a consumer on a named pipe); returns (thread, chunks)."""
    import threading

    chunks = []

    def read():
        with open(path, "rb") as f:
            chunks.append(f.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, chunks


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("through_symlink", [False, True])
def test_a_fifo_target_is_written_in_place_never_renamed_over(tmp_path, through_symlink):
    import stat

    fifo = tmp_path / "records.fifo"
    os.mkfifo(str(fifo))
    target = fifo
    if through_symlink:
        target = tmp_path / "link.jsonl"
        target.symlink_to(fifo)
    thread, chunks = _fifo_reader(str(fifo))
    atomic_write_text(str(target), '{"frame": 0}\n')
    thread.join(timeout=10)
    assert chunks == [b'{"frame": 0}\n']  # the reader got the data
    assert stat.S_ISFIFO(os.stat(str(fifo)).st_mode)  # still the FIFO, not a regular file
    assert not through_symlink or os.path.islink(str(target))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"records.fifo", target.name})  # no temp file


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod of a device needs root")
def test_a_device_target_is_written_in_place_and_never_deleted_even_on_failure(tmp_path):
    import stat

    null = tmp_path / "null"
    os.mknod(str(null), 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device of our own, never /dev/null
    check_writable(str(null))  # no probe file beside it
    atomic_write_text(str(null), "records\n")
    assert stat.S_ISCHR(os.stat(str(null)).st_mode)
    with pytest.raises(RuntimeError):
        with atomic_output(str(null)) as tmp:
            assert tmp == str(null)
            raise RuntimeError("the writer fails")
    assert stat.S_ISCHR(os.stat(str(null)).st_mode)  # a failure discards, and a device is never removed
    assert [p.name for p in tmp_path.iterdir()] == ["null"]
