"""edge_saliency.files.checks.check_outputs: outputs against inputs and each other, by resolved path and identity."""
import os

import pytest

from edge_saliency.errors import UserError
from edge_saliency.files.checks import Output, check_outputs, local_path, resolve


@pytest.fixture
def here(tmp_path, monkeypatch):
    (tmp_path / "in.mp4").write_bytes(b"video")
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "a.png").write_bytes(b"png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_distinct_outputs_pass(here):
    check_outputs([Output("out.mp4", "video"), Output("out.jsonl", "lines"), Output("maps", "maps", folder=True),
                   Output("maps/a.png", "map"), Output("new/deeper/x.json", "summary")],
                  ["in.mp4", "frames", "frames/a.png", "rtsp://cam/x", "0", "missing.onnx"])


@pytest.mark.parametrize("output, inputs, message", [
    ("in.mp4", ["in.mp4"], "video in.mp4 is the input in.mp4"),
    ("./frames/../in.mp4", ["in.mp4"], "is the input in.mp4"),
    ("{d}/in.mp4", ["in.mp4"], "is the input in.mp4"),
    ("frames/new.png", ["frames"], "video frames/new.png is inside the input folder frames"),
    ("frames/sub/deep.png", ["frames"], "inside the input folder frames"),
    ("file://{d}/in.mp4", ["in.mp4"], "is the input in.mp4"),
])
def test_an_output_that_is_or_is_inside_an_input(here, output, inputs, message):
    with pytest.raises(UserError, match=message):
        check_outputs([Output(output.format(d=here), "video")], inputs)


def test_symlinks_and_hard_links(here):
    os.symlink("in.mp4", "link.mp4")
    os.symlink("frames", "framelink")
    os.link("in.mp4", "hard.mp4")
    with pytest.raises(UserError, match="video link.mp4 \\(through a symlink: .*in.mp4\\) is the input in.mp4"):
        check_outputs([Output("link.mp4", "video")], ["in.mp4"])
    with pytest.raises(UserError, match="is the input link.mp4 \\(through a symlink"):
        check_outputs([Output("in.mp4", "video")], ["link.mp4"])
    with pytest.raises(UserError, match="video hard.mp4 is the input in.mp4"):
        check_outputs([Output("hard.mp4", "video")], ["in.mp4"])
    with pytest.raises(UserError, match="inside the input folder framelink"):
        check_outputs([Output("frames/x.png", "map")], ["framelink"])


def test_a_folder_output_equal_to_an_input_folder(here):
    with pytest.raises(UserError, match="maps folder frames/ is the input frames"):
        check_outputs([Output("frames/", "maps folder", folder=True)], ["frames"])


def test_two_outputs_that_are_one_file(here):
    with pytest.raises(UserError, match="lines ./out.mp4 and video out.mp4 are the same file"):
        check_outputs([Output("out.mp4", "video"), Output("./out.mp4", "lines")], [])


def test_uris_are_not_paths():
    assert local_path("http://host/x") is None and local_path("rtp://239.0.0.1:5004") is None
    assert local_path("file:///a/b.mp4") == "/a/b.mp4" and local_path("out.mp4") == "out.mp4"
    assert resolve("a/../b") == os.path.join(os.path.realpath(os.getcwd()), "b")
