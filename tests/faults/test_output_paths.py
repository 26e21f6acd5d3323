"""Outputs never touch inputs: every form of "the output is an input" (same path, relative forms, symlinks both
ways, hard links, maps into the image folder, an output inside an input folder) and "two outputs are one file"
is refused with one line before anything is read or written."""
import os
import shutil

import cv2
import pytest

from .conftest import assert_error, cli, snapshot, temp_files


@pytest.fixture
def scene(work, clip):
    """in.mp4, in2.mp4, frames/ (3 PNG), link.mp4 -> in.mp4, hard.mp4 (a hard link to in.mp4), sub/."""
    shutil.copy(clip, str(work / "in2.mp4"))
    (work / "frames").mkdir()
    capture = cv2.VideoCapture(clip)
    for i in range(3):
        ok, image = capture.read()
        cv2.imwrite(str(work / "frames" / "f{}.png".format(i)), image)
    os.symlink(str(work / "in.mp4"), str(work / "link.mp4"))
    os.link(str(work / "in.mp4"), str(work / "hard.mp4"))
    (work / "sub").mkdir()
    return work


RUN_CASES = {
    "video is the source": (["in.mp4", "-o", "in.mp4"], "output video in.mp4 is the input in.mp4"),
    "JSON lines is the source": (["in.mp4", "--jsonl", "in.mp4"], "JSON-lines file in.mp4 is the input"),
    "summary is the source": (["in.mp4", "--summary-json", "in.mp4"], "summary file in.mp4 is the input"),
    "relative form": (["in.mp4", "-o", "sub/../in.mp4"], "output video sub/../in.mp4 is the input in.mp4"),
    "absolute form": (["in.mp4", "-o", "{d}/in.mp4"], "is the input in.mp4"),
    "source is a symlink to the output": (["link.mp4", "-o", "in.mp4"],
                                          "is the input link.mp4 \\(through a symlink: .*in.mp4\\)"),
    "output is a symlink to the source": (["in.mp4", "-o", "link.mp4"],
                                          "output video link.mp4 \\(through a symlink: .*in.mp4\\) is the input"),
    "output is a hard link to the source": (["in.mp4", "-o", "hard.mp4"], "output video hard.mp4 is the input"),
    "a stream's video is another source": (["in.mp4", "in.mp4", "in2.mp4", "-o", "in{{stream}}.mp4"],
                                           "output video in2.mp4 is the input in2.mp4"),
    "maps into the image folder": (["frames/", "--maps", "frames/"], "maps folder frames/ is the input frames/"),
    "maps inside the image folder": (["frames/", "--maps", "frames/maps"],
                                     "maps folder frames/maps is inside the input folder frames/"),
    "a map would overwrite an image": (["frames/f1.png", "--maps", "frames"], "map frames/f1.png is the input"),
    "maps of a glob": (["frames/*.png", "--maps", "frames"], "map frames/f0.png is the input"),
    "video inside the image folder": (["frames", "-o", "frames/out.mp4"], "inside the input folder frames"),
    "video and JSON lines are one file": (["in.mp4", "-o", "out.mp4", "--jsonl", "out.mp4"],
                                          "JSON-lines file out.mp4 and output video out.mp4 are the same file"),
    "JSON lines and summary are one file": (["in.mp4", "--jsonl", "o.json", "--summary-json", "./o.json"],
                                            "summary file ./o.json and JSON-lines file o.json are the same file"),
    "a stream's video is the JSON lines": (["in.mp4", "in2.mp4", "-o", "out.mp4", "--jsonl", "out-1.mp4"],
                                           "JSON-lines file out-1.mp4 and output video out-1.mp4"),
    "video is the model": (["in.mp4", "--model", "{m}", "-o", "{m}"], "is the input .*tiny.onnx"),
}


@pytest.mark.parametrize("case", sorted(RUN_CASES))
def test_run_refuses(scene, tiny_model, case):
    args, message = RUN_CASES[case]
    model = str(scene / "tiny.onnx")
    shutil.copy(tiny_model, model)
    args = [a.format(d=scene, m=model) for a in args]
    before = snapshot(scene)
    result = cli("run", *args, "--no-display", cwd=str(scene), timeout=60)
    assert_error(result, message)
    assert snapshot(scene) == before  # nothing read was changed, nothing was written
    assert os.path.islink(scene / "link.mp4") and temp_files(scene) == []


def test_non_file_outputs_are_not_paths():
    """A sink URI (http://, rtp://) is no file: it can never be an input and is never checked as one."""
    from edge_saliency.files.checks import Output, check_outputs, local_path

    assert local_path("rtp://127.0.0.1:5004") is None and local_path("file:///tmp/x.mp4") == "/tmp/x.mp4"
    check_outputs([Output("rtp://127.0.0.1:5004", "stream"), Output("http://0.0.0.0:8080/x", "stream")],
                  ["rtsp://cam/x", "0"])


def test_export_refuses_to_write_over_its_inputs(tmp_path):
    weights = tmp_path / "w.onnx"
    weights.write_bytes(b"not really weights")
    calib = tmp_path / "calib"
    calib.mkdir()
    before = snapshot(tmp_path)
    result = cli("export", "emlnet-lite", "--weights", weights, "-o", weights, cwd=str(tmp_path), timeout=120)
    assert_error(result, "output .*w.onnx is the input .*w.onnx")
    result = cli("export", "emlnet-lite", "--precision", "int8", "--calib", calib, "-o", calib / "lite.onnx",
                 cwd=str(tmp_path), timeout=120)
    assert_error(result, "output .*calib/lite.onnx is inside the input folder .*calib")
    assert snapshot(tmp_path) == before and os.listdir(calib) == []


def test_build_engine_refuses_to_write_over_its_input(tmp_path, tiny_model):
    model = tmp_path / "tiny.onnx"
    shutil.copy(tiny_model, str(model))
    before = snapshot(tmp_path)
    for args, message in ((["-o", model], "engine .*tiny.onnx is the input"),
                          (["-o", "e.onnx", "--timing-cache", "e.onnx"], "timing cache e.onnx and engine e.onnx")):
        result = cli("build-engine", model, "--backend", "onnxruntime", *args, cwd=str(tmp_path), timeout=120)
        assert_error(result, message)
    assert snapshot(tmp_path) == before
