"""SIGKILL at random (seeded) points of run, export and build-engine: no file under a final name is ever
half-written (each is the previous version or a whole new one), and a clean rerun removes the temp files the
killed process left (with a note) and writes whole outputs."""
import glob
import os
import random
import shutil
import time

import pytest

from .conftest import (
    assert_nothing_half_written,
    cli,
    sha256,
    snapshot,
    start,
    temp_files,
    video_frames,
    wait_for_line,
)

SEED = 13


def kill_after(process, seconds):
    time.sleep(seconds)
    process.kill()
    process.communicate()


def previous_or_whole_video(path, previous):
    """The file under the final name is the previous one, or a whole video (killed after the rename)."""
    if sha256(path) == previous:
        return "previous"
    decoded, claimed, _ = video_frames(path)
    assert decoded > 0 and decoded == claimed, (decoded, claimed)
    return "new"


def test_run_killed_at_random_points(work):
    rng = random.Random(SEED)
    outputs = ["-o", "out.mp4", "--jsonl", "out.jsonl", "--maps", "maps", "--summary-json", "summary.json"]
    first = cli("run", "in.mp4", "--no-display", *outputs, cwd=str(work), timeout=120)
    assert first.returncode == 0, first.stderr
    previous = sha256(work / "out.mp4")
    inputs = snapshot(work / "in.mp4")
    left = []
    for _ in range(3):
        process = start("run", "in.mp4", "--loop", "--max-frames", 2000, "--no-display", *outputs, cwd=str(work))
        wait_for_line(process, " -> ")
        kill_after(process, rng.uniform(0.05, 2.0))
        previous_or_whole_video(work / "out.mp4", previous)
        left += temp_files(work)
        for line in open(work / "out.jsonl"):  # whole lines only: the previous file or a whole new one
            assert line.endswith("}\n")
    assert left, "no kill landed while temp files existed: the test proved nothing"
    assert snapshot(work / "in.mp4") == inputs
    rerun = cli("run", "in.mp4", "--no-display", *outputs, cwd=str(work), timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "left by interrupted runs (process" in rerun.stderr
    assert_nothing_half_written(work)
    assert video_frames(work / "out.mp4")[0] == 24 and len(open(work / "out.jsonl").readlines()) == 24
    assert len(glob.glob(str(work / "maps" / "*.png"))) >= 24


def test_export_killed_then_rerun(tmp_path):
    rng = random.Random(SEED)
    out = tmp_path / "lite.onnx"
    process = start("export", "emlnet-lite", "--size", "64x96", "-o", out, cwd=str(tmp_path))
    wait_for_line(process, "exporting to ONNX")
    kill_after(process, rng.uniform(0.5, 4.0))
    finals = sorted(n for n in os.listdir(tmp_path) if not n.startswith("."))
    assert finals in ([], sorted(["lite.onnx", "lite.onnx.json", "lite.accuracy.json", "lite.accuracy.md"])), finals
    rerun = cli("export", "emlnet-lite", "--size", "64x96", "-o", out, cwd=str(tmp_path), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert temp_files(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["lite.accuracy.json", "lite.accuracy.md", "lite.onnx", "lite.onnx.json"]
    import onnx

    onnx.checker.check_model(str(out))


def test_build_engine_killed_at_random_points(tmp_path, tiny_model):
    from edge_saliency.engine.cache import is_up_to_date
    from edge_saliency.files.sidecar import read_sidecar

    rng = random.Random(SEED)
    model = tmp_path / "tiny.onnx"
    shutil.copy(tiny_model, str(model))
    engines = tmp_path / "engines"
    for _ in range(3):
        process = start("build-engine", model, "--backend", "onnxruntime", "--output-dir", engines, "--force",
                        cwd=str(tmp_path))
        kill_after(process, rng.uniform(0.3, 2.5))
        for artifact in glob.glob(str(engines / "*.ort.onnx")):  # an entry is whole (sidecar and artifact) or absent
            sidecar = read_sidecar(artifact, required=False)
            assert sidecar is not None and is_up_to_date(artifact, sidecar, sidecar.info["key"])
    rerun = cli("build-engine", model, "--backend", "onnxruntime", "--output-dir", engines, cwd=str(tmp_path))
    assert rerun.returncode == 0, rerun.stderr
    assert temp_files(tmp_path) == []
    artifacts = glob.glob(str(engines / "*.ort.onnx"))
    assert len(artifacts) == 1
    sidecar = read_sidecar(artifacts[0])
    assert is_up_to_date(artifacts[0], sidecar, sidecar.info["key"])


@pytest.mark.skipif(os.name != "posix", reason="stale temp files are recognised by pid on POSIX only")
def test_a_temp_file_of_a_running_writer_is_left_alone(tmp_path):
    from edge_saliency.files.temps import remove_stale

    alive = tmp_path / ".out.tmp{}-0.mp4".format(os.getppid())  # our parent runs
    dead = tmp_path / ".out.tmp{}-0.mp4".format(_dead_pid())
    other = tmp_path / ".other.tmp{}-0.mp4".format(_dead_pid())  # a different target, its writer dead too
    for path in (alive, dead, other):
        path.write_bytes(b"x")
    assert remove_stale(str(tmp_path / "out.mp4")) == sorted([str(dead), str(other)])
    assert alive.exists() and not other.exists() and not dead.exists()


def _dead_pid():
    """A pid that no process has now: a child that has exited and been reaped."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
