"""The frame path at source sizes: the clips of real frames at each size, the --frame-sizes values, the ratios
to inference and the report's table (on synthetic cells with known numbers)."""
import os

import numpy as np
import pytest

from edge_saliency.bench import report, source_sizes
from edge_saliency.bench.options import BenchOptions
from edge_saliency.bench.source_sizes import parse_frame_sizes, stage_ratios, write_source_clip
from edge_saliency.bench.stats import latency_stats
from edge_saliency.cli import main
from edge_saliency.errors import UserError

from .conftest import make_result, ok_cell

cv2 = pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    pytest.importorskip("skimage")
    from edge_saliency.outputs.sample_clip import write_sample_clip

    return write_sample_clip(str(tmp_path_factory.mktemp("video") / "clip.mp4"), frames=12, size=(96, 128), fps=12.0)


def decoded(path):
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


@pytest.mark.parametrize("size", [(48, 64), (240, 320)])
def test_the_clip_holds_the_videos_frames_scaled_to_the_size(video, tmp_path, size):
    path = write_source_clip(str(tmp_path / "src.mp4"), size, 5, video)
    frames = decoded(path)
    assert len(frames) == 5 and all(f.shape == (size[0], size[1], 3) for f in frames)
    originals = decoded(video)[:5]
    for frame, original in zip(frames, originals):  # the same pictures, through two lossy mp4v encodes
        scaled = cv2.resize(original, (size[1], size[0]), interpolation=cv2.INTER_AREA if size[0] < 96 else
                            cv2.INTER_LINEAR)
        assert np.abs(frame.astype(np.float32) - scaled).mean() < 6.0
    other = cv2.resize(originals[4], (size[1], size[0]))
    assert np.abs(frames[0].astype(np.float32) - other).mean() > 10.0  # a different frame would not pass


def test_a_short_video_is_read_again_from_the_start(video, tmp_path):
    frames = decoded(write_source_clip(str(tmp_path / "long.mp4"), (48, 64), 30, video))
    assert len(frames) == 30
    assert np.abs(frames[12].astype(np.float32) - frames[0]).mean() < 3.0  # frame 12 is the video's frame 0 again
    assert np.abs(frames[6].astype(np.float32) - frames[0]).mean() > 3.0


def test_a_failed_clip_leaves_nothing(tmp_path):
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video")
    with pytest.raises(UserError, match="no frames could be decoded"):
        write_source_clip(str(tmp_path / "src.mp4"), (48, 64), 3, str(broken))
    assert sorted(os.listdir(str(tmp_path))) == ["broken.avi"]


def test_frame_sizes_are_parsed_in_order_without_repeats():
    assert parse_frame_sizes(["480x640", "720X1280", (1080, 1920), "480x640"]) == [(480, 640), (720, 1280),
                                                                                   (1080, 1920)]
    assert parse_frame_sizes([]) == [] and parse_frame_sizes(["none"]) == [] and parse_frame_sizes(["NONE"]) == []
    options = BenchOptions(model="emlnet-lite", frame_sizes=["48x64"])
    options.validate()
    assert options.frame_sizes == [(48, 64)]
    assert BenchOptions(model="emlnet-lite").frame_sizes == ((480, 640), (720, 1280), (1080, 1920))


@pytest.mark.parametrize("bad", ["1081x1920", "8x8", "720", "abc", "0x0", "10000x640", "none"])
def test_a_bad_frame_size_names_the_value_and_the_form(bad):
    values = [bad] if bad != "none" else ["480x640", "none"]  # 'none' with sizes is a mistake too
    with pytest.raises(UserError) as error:
        parse_frame_sizes(values)
    message = str(error.value)
    assert repr(bad) in message and "HxW with even sides" in message and "\n" not in message


def test_the_cli_refuses_a_bad_frame_size_in_one_line_and_writes_nothing(tmp_path, capsys):
    assert main(["bench", "emlnet-lite", "--frame-sizes", "1080x1921", "-o", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip()
    assert "--frame-sizes" in err and "'1080x1921'" in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_ratios_are_per_frame_p50_over_inference_p50():
    stats = {"decode": latency_stats([2.0, 4.0]), "inference": latency_stats([10.0, 30.0]),
             "infer": latency_stats([16.0]), "copy_in": None, "postprocess": latency_stats([5.0])}
    ratios = stage_ratios(stats)
    assert ratios == {"decode": pytest.approx(3.0 / 20.0), "inference": 1.0, "infer": pytest.approx(16.0 / 20.0),
                      "copy_in": None, "postprocess": pytest.approx(5.0 / 20.0)}
    # batch 4: inference is 20 ms per batch = 5 ms per frame; decode (per frame) 3 ms; infer (per batch) 16 ms
    batched = stage_ratios(stats, batch=4)
    assert batched["decode"] == pytest.approx(3.0 / 5.0) and batched["infer"] == pytest.approx(4.0 / 5.0)
    assert batched["inference"] == pytest.approx(1.0)
    assert set(stage_ratios({"decode": latency_stats([1.0]), "inference": None}).values()) == {None}


def test_the_report_has_a_table_per_cell_rows_sizes_columns_stages(result):
    text = report.markdown(result)
    assert "## Frame path at source sizes" in text
    section = text[text.index("## Frame path at source sizes"):]
    for cell in [c for c in result.cells if c.ok]:
        head = "### {} (output: OpenCV VideoWriter)".format(cell.id)
        assert head in section
        table = section[section.index(head):].split("\n\n")[1].splitlines()
        # only the stages some size measured: copy-in / infer / copy-out are absent in these records
        assert table[0] == "| source | decode | pre-process | inference | post-process | output |"
        rows = table[2:4]
        for row, record in zip(rows, cell.source_stages):
            values = [v.strip() for v in row.strip("|").split("|")]
            assert values[0] == "{}×{}".format(*record["source"])
            for value, stage in zip(values[1:], ("decode", "preprocess", "inference", "postprocess", "output")):
                p50 = record["stages_ms"][stage]["p50"]
                assert value == "{:.2f} ({:.2f}×)".format(p50, p50 / record["stages_ms"]["inference"]["p50"])
    # 1080x1920: post-process 15 ms over inference p50 10 ms
    assert "| 1080×1920 | 6.00 (0.60×) | 3.00 (0.30×) | 10.00 (1.00×) | 15.00 (1.50×) | 10.00 (1.00×) |" in section


def test_without_source_sizes_there_is_no_section():
    cell = ok_cell("onnxruntime", "fp32", [1.0, 2.0])
    cell.source_stages = None
    assert "source sizes" not in report.markdown(make_result([cell]))
    assert source_sizes.summary(None) == ""


def test_the_summary_names_the_largest_sizes_ratios(result):
    text = source_sizes.summary(result.cells[0].source_stages)
    assert text == "at 1080x1920: post-process 1.50×, output 1.00× inference"
