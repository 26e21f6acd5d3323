"""Output folders that are read-only, or vanish while a run writes into them, and final outputs that cannot be
replaced: one line, exit 1, previous files intact (the run's outputs roll back together), no temp file."""
import os
import shutil
import time

import pytest

from .conftest import assert_error, assert_nothing_half_written, cli, sha256, snapshot, start, temp_files, wait_for_line


@pytest.mark.parametrize("args, what", [(["-o", "ro/out.mp4"], "output video"),
                                        (["--jsonl", "ro/out.jsonl"], "JSON-lines file"),
                                        (["--maps", "ro/maps"], "maps folder"),
                                        (["--summary-json", "ro/summary.json"], "summary file")])
def test_read_only_output_folder(work, protect, args, what):
    (work / "ro").mkdir()
    protect(work / "ro")
    before = snapshot(work)
    result = cli("run", "in.mp4", "--no-display", *args, cwd=str(work), timeout=60)
    assert_error(result, "cannot write {} ro/.*: (permission denied|operation not permitted)".format(what))
    assert snapshot(work) == before


def test_export_into_a_read_only_folder_fails_before_the_export(tmp_path, protect):
    (tmp_path / "ro").mkdir()
    protect(tmp_path / "ro")
    started = time.time()
    result = cli("export", "emlnet-lite", "--size", "64x96", "-o", "ro/lite.onnx", cwd=str(tmp_path), timeout=120)
    assert_error(result, "cannot write output ro/lite.onnx: (permission denied|operation not permitted)")
    assert "exporting to ONNX" not in result.stderr, "the slow steps ran before the folder was checked"
    assert time.time() - started < 60


def test_final_output_that_cannot_be_replaced(work, clip, protect):
    shutil.copy(clip, str(work / "out.mp4"))
    previous = sha256(work / "out.mp4")
    protect(work / "out.mp4")
    result = cli("run", "in.mp4", "-o", "out.mp4", "--no-display", cwd=str(work), timeout=60)
    assert_error(result, "cannot replace output video out.mp4: .*chattr -i.* \\(the previous out.mp4 is unchanged\\)")
    assert sha256(work / "out.mp4") == previous and temp_files(work) == []


def test_outputs_roll_back_together(work, clip, protect):
    """The video is renamed first, then the JSON lines cannot replace theirs: the previous video comes back."""
    shutil.copy(clip, str(work / "out.mp4"))
    (work / "out.jsonl").write_text('{"previous": true}\n')
    previous = snapshot(work / "out.mp4", work / "out.jsonl")
    protect(work / "out.jsonl")
    result = cli("run", "in.mp4", "-o", "out.mp4", "--jsonl", "out.jsonl", "--no-display", cwd=str(work), timeout=60)
    assert_error(result, "cannot replace JSON-lines file out.jsonl")
    assert snapshot(work / "out.mp4", work / "out.jsonl") == previous
    assert temp_files(work) == []


@pytest.mark.parametrize("args, what", [(["-o", "gone/out.mp4"], "output video"),
                                        (["--jsonl", "gone/out.jsonl"], "JSON-lines file"),
                                        (["--maps", "gone/maps"], "map")])
def test_output_folder_vanishes_during_the_run(work, args, what):
    process = start("run", "in.mp4", "--loop", "--max-frames", 100000, "--no-display", *args, cwd=str(work))
    try:
        wait_for_line(process, " -> ")
        deadline = time.time() + 30
        while not any(names for _, _, names in os.walk(str(work / "gone"))) and time.time() < deadline:
            time.sleep(0.05)  # until the first file is in there
        for _ in range(50):  # the run may create a file while the tree is being removed: remove again
            try:
                shutil.rmtree(str(work / "gone"))
                break
            except OSError:
                time.sleep(0.02)
        out, err = process.communicate(timeout=30)  # the run notices within a second or a frame
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    result = type("Result", (), {"returncode": process.returncode, "stdout": out, "stderr": err})
    assert_error(result, "cannot write {} gone/.*: its folder no longer exists".format(what))
    assert not os.path.exists(work / "gone")
    assert_nothing_half_written(work)
