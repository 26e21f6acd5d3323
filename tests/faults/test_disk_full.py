"""A disk that fills (a small tmpfs: ENOSPC) or a file size limit (RLIMIT_FSIZE: EFBIG) while writing: exit 1,
one line naming the file and the cause, the previous file intact, no temp file, never "wrote"."""
import os
import shutil

import pytest

from .conftest import assert_error, assert_nothing_half_written, cli, sha256, snapshot


def old_file(path, clip):
    """A previous output at ``path`` (a whole video, or a line of JSON) that must survive the failed run."""
    if path.endswith(".mp4"):
        shutil.copy(clip, path)
    else:
        with open(path, "w") as f:
            f.write('{"previous": true}\n')
    return sha256(path)


OUTPUTS = {
    # name: (arguments, the file, what the message calls it, frames, a file size limit it exceeds)
    "video": (["-o", "{d}/out.mp4"], "{d}/out.mp4", "output video", 200, 20 << 10),
    "jsonl": (["--jsonl", "{d}/out.jsonl"], "{d}/out.jsonl", "JSON-lines file", 2000, 20 << 10),
    "maps": (["--maps", "{d}/maps"], None, "map", 200, 1 << 10),
}


def run_until_full(work, folder, name, fsize=None):
    args, target, _, frames, _ = OUTPUTS[name]
    args = [a.format(d=folder) for a in args]
    return cli("run", work / "in.mp4", "--loop", "--max-frames", frames, "--no-display", *args, cwd=str(work),
               fsize=fsize, timeout=120)


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_file_size_limit(work, clip, name):
    """ulimit -f: the write fails with EFBIG (SIGXFSZ ignored), the run stops with one line."""
    args, target, what, _, limit = OUTPUTS[name]
    target = target.format(d=work) if target else None
    previous = old_file(target, clip) if target else None
    inputs = snapshot(work / "in.mp4")
    result = run_until_full(work, str(work), name, fsize=limit)
    assert_error(result, r"cannot write {} .*: file too large .*ulimit -f".format(what))
    assert snapshot(work / "in.mp4") == inputs
    if target:
        assert sha256(target) == previous
    assert_nothing_half_written(work)


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_disk_full(work, clip, small_disk, name):
    """A 256 KiB disk: ENOSPC, detected while the file grows (OpenCV's writer reports nothing itself)."""
    disk = small_disk(256)
    args, target, what, _, _ = OUTPUTS[name]
    target = target.format(d=disk) if target else None
    previous = old_file(target, clip) if target else None
    inputs = snapshot(work / "in.mp4")
    result = run_until_full(work, disk, name)
    assert_error(result, r"cannot write {} {}.*: no space left on the device; free some space".format(what, disk))
    assert snapshot(work / "in.mp4") == inputs
    if target:
        assert sha256(target) == previous and "the previous {} is unchanged".format(os.path.basename(target)) in \
            result.stderr
    assert_nothing_half_written(disk)


def test_maps_on_a_full_disk_stop_at_once(work, small_disk):
    """The failing sink stops the other stages at once (it used to wait 10 s per blocked thread)."""
    disk = small_disk(128)
    result = run_until_full(work, disk, "maps")
    assert result.returncode == 1 and "did not finish" not in result.stderr


def test_summary_past_the_file_size_limit(work):
    summary = str(work / "summary.json")
    result = cli("run", work / "in.mp4", "--summary-json", summary, "--no-display", cwd=str(work), fsize=600)
    assert_error(result, r"cannot write summary file .*summary.json: file too large")
    assert not os.path.exists(summary)
    assert_nothing_half_written(work)


def test_export_past_the_file_size_limit(tmp_path):
    """The 12 MB ONNX file cannot be written under a 2 MB limit: the previous export stays whole."""
    out = tmp_path / "lite.onnx"
    out.write_bytes(b"previous export")
    result = cli("export", "emlnet-lite", "--size", "64x96", "-o", out, cwd=str(tmp_path), fsize=2 << 20)
    assert_error(result, r"cannot write ONNX file .*lite.onnx: file too large")
    assert out.read_bytes() == b"previous export"
    assert sorted(os.listdir(tmp_path)) == ["lite.onnx"]


def test_build_engine_past_the_file_size_limit(tmp_path, tiny_model):
    """An ONNX Runtime artifact that cannot be written: no cache entry, no temp file."""
    model = str(tmp_path / "tiny.onnx")
    shutil.copy(tiny_model, model)
    inputs = snapshot(tmp_path)
    result = cli("build-engine", model, "--backend", "onnxruntime", "--output-dir", tmp_path / "engines",
                 cwd=str(tmp_path), fsize=1 << 10)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len([line for line in result.stderr.splitlines() if "error:" in line]) == 1, result.stderr
    assert snapshot(tmp_path / "tiny.onnx") == {k: v for k, v in inputs.items() if k.endswith("tiny.onnx")}
    assert not os.path.isdir(tmp_path / "engines") or os.listdir(tmp_path / "engines") == []


def test_sample_clip_past_the_file_size_limit(tmp_path):
    """OpenCV's writer drops the failed writes; the clip is read back before it is called written."""
    result = cli("sample-clip", "clip.mp4", "--frames", 100, "--size", "96x128", cwd=str(tmp_path), fsize=16 << 10)
    assert_error(result, "cannot write sample clip clip.mp4: file too large")
    assert os.listdir(tmp_path) == []

