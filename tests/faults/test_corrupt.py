"""Corrupt engine-cache entries (rebuilt, with a note; ``--force`` always rebuilds) and truncated inputs: video,
image, ONNX, safetensors (one line naming the file and what is wrong with it, or a skipped and counted image)."""
import glob
import json
import os
import shutil
import subprocess

import cv2
import pytest

from .conftest import assert_error, assert_nothing_half_written, cli, snapshot, temp_files


def truncate(path, keep=0.5):
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * keep)])
    return path


@pytest.fixture
def cached(tmp_path, tiny_model):
    """A built ONNX Runtime cache entry: (model, engines folder, artifact path)."""
    model = tmp_path / "tiny.onnx"
    shutil.copy(tiny_model, str(model))
    engines = tmp_path / "engines"
    result = cli("build-engine", model, "--backend", "onnxruntime", "--output-dir", engines, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    return model, engines, glob.glob(str(engines / "*.ort.onnx"))[0]


def sidecar_of(artifact):
    return artifact + ".json"


def future_schema(artifact):
    with open(sidecar_of(artifact)) as f:
        data = json.load(f)
    with open(sidecar_of(artifact), "w") as f:
        json.dump(dict(data, schema_version=99), f)


DAMAGE = {
    "sidecar truncated": lambda a: truncate(sidecar_of(a), 0.1),
    "sidecar not JSON": lambda a: open(sidecar_of(a), "wb").write(b"\x00\xff garbage"),
    "sidecar a JSON list": lambda a: open(sidecar_of(a), "w").write("[1, 2]"),
    "sidecar of a future schema": future_schema,
    "sidecar missing": lambda a: os.remove(sidecar_of(a)),
    "artifact truncated": lambda a: truncate(a, 0.5),
    "artifact empty": lambda a: truncate(a, 0.0),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("force", [False, True])
def test_an_unreadable_cache_entry_is_rebuilt(cached, damage, force):
    from edge_saliency.engine.cache import is_up_to_date
    from edge_saliency.files.sidecar import read_sidecar

    model, engines, artifact = cached
    DAMAGE[damage](artifact)
    model_hash = snapshot(model)
    result = cli("build-engine", model, "--backend", "onnxruntime", "--output-dir", engines,
                 *(["--force"] if force else []), cwd=str(model.parent))
    assert result.returncode == 0, result.stderr
    assert "built onnxruntime" in result.stdout
    if damage.startswith("sidecar") and damage != "sidecar missing" and not force:
        assert "cannot be used" in result.stderr and "rebuilding it" in result.stderr
    sidecar = read_sidecar(artifact)
    assert is_up_to_date(artifact, sidecar, sidecar.info["key"])
    assert snapshot(model) == model_hash and temp_files(engines) == []


def test_force_rebuilds_a_good_entry(cached):
    model, engines, artifact = cached
    again = cli("build-engine", model, "--backend", "onnxruntime", "--output-dir", engines, cwd=str(model.parent))
    assert "up to date" in again.stdout
    forced = cli("build-engine", model, "--backend", "onnxruntime", "--output-dir", engines, "--force",
                 cwd=str(model.parent))
    assert forced.returncode == 0 and "built onnxruntime" in forced.stdout


def test_running_a_damaged_artifact_is_one_line(cached, work):
    _, _, artifact = cached
    truncate(artifact, 0.5)
    result = cli("run", "in.mp4", "--model", artifact, "--no-display", cwd=str(work), timeout=60)
    assert_error(result, "changed since it was built .*rebuild it: edge-saliency build-engine")
    truncate(sidecar_of(artifact), 0.1)
    result = cli("run", "in.mp4", "--model", artifact, "--no-display", cwd=str(work), timeout=60)
    assert_error(result, "the sidecar .*\\.ort\\.onnx\\.json of .* is corrupt .*rebuild it: edge-saliency build-engine "
                         "MODEL.onnx --force")


def ffmpeg_available():
    return shutil.which("ffmpeg") is not None


@pytest.mark.parametrize("container", ["mp4", "avi", "mkv"])
def test_a_truncated_video_is_named_truncated(work, clip, container):
    from edge_saliency.outputs.sample_clip import write_sample_clip

    source = str(work / "cut.{}".format(container))
    write_sample_clip(source, frames=24, size=(96, 128), fps=12.0)
    truncate(source, 0.4)
    before = snapshot(work)
    result = cli("run", source, "-o", "out.mp4", "--no-display", cwd=str(work), timeout=60)
    if result.returncode == 3:  # the decoder read what is there: the loss is reported, the frames are whole
        assert "truncated" in result.stderr and "stopped at frame" in result.stderr
        assert "could not be read and were skipped (exit status 3)" in result.stdout
        assert_nothing_half_written(work, skip=[source])
    else:
        assert_error(result, "cut.{}: the file is truncated.*copy or record it again".format(container))
        assert "codec" not in result.stderr
        assert snapshot(work) == before


def test_an_unfinished_mp4_without_its_index(work, clip):
    """A recording killed before its 'moov' index was written (the file ends inside 'mdat')."""
    data = open(clip, "rb").read()
    at = data.find(b"moov") - 4
    assert at > 0
    with open(work / "rec.mp4", "wb") as f:
        f.write(data[:at])
    result = cli("run", "rec.mp4", "--no-display", cwd=str(work), timeout=60)
    assert_error(result, "rec.mp4: the MP4 file has no 'moov' index \\(a recording that was not finished\\)")


@pytest.mark.skipif(not ffmpeg_available(), reason="needs ffmpeg to write an MP4 with its index first")
def test_a_truncated_fast_start_mp4_gives_the_frames_it_has(work, clip):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", clip, "-c:v", "mpeg4", "-movflags", "+faststart",
                    str(work / "fast.mp4")], check=True, timeout=120)
    truncate(str(work / "fast.mp4"), 0.5)
    result = cli("run", "fast.mp4", "-o", "out.mp4", "--no-display", cwd=str(work), timeout=60)
    assert result.returncode == 3, result.stderr  # the frames it has, and a status that says it was cut short
    assert "stopped at frame" in result.stderr and "the file is truncated" in result.stderr
    assert_nothing_half_written(work, skip=[work / "fast.mp4"])


@pytest.mark.parametrize("kind", ["jpg", "png"])
def test_a_truncated_image_in_a_folder_is_skipped_and_counted(work, clip, kind):
    folder = work / "imgs"
    folder.mkdir()
    capture = cv2.VideoCapture(clip)
    for i in range(4):
        cv2.imwrite(str(folder / "f{}.{}".format(i, kind)), capture.read()[1])
    truncate(str(folder / "f2.{}".format(kind)), 0.6)
    before = snapshot(folder)
    result = cli("run", "imgs", "--jsonl", "out.jsonl", "--no-display", cwd=str(work), timeout=60)
    assert result.returncode == 3, result.stderr  # finished, input left out
    assert "skipping imgs/f2.{}: a truncated".format(kind) in result.stderr
    assert "Premature end" not in result.stderr  # libjpeg's own line: the file is never decoded
    assert "captured 3, dropped 0, skipped 1" in result.stdout
    assert [json.loads(line)["name"] for line in open(work / "out.jsonl")] == ["f0", "f1", "f3"]
    assert snapshot(folder) == before
    for i in (0, 1, 3):
        truncate(str(folder / "f{}.{}".format(i, kind)), 0.6)
    result = cli("run", "imgs", "--no-display", cwd=str(work), timeout=60)
    assert_error(result, "none of the 4 image\\(s\\) in imgs can be read")


def test_a_truncated_onnx_model(work, tiny_model, lite_files):
    model = str(work / "cut.onnx")
    shutil.copy(lite_files[1], model)
    truncate(model, 0.5)
    result = cli("run", "in.mp4", "--model", model, "--no-display", cwd=str(work), timeout=60)
    assert_error(result, "ONNX Runtime cannot load .*cut.onnx")
    result = cli("build-engine", model, "--backend", "onnxruntime", "--output-dir", "engines", cwd=str(work))
    assert_error(result, "cut.onnx")
    assert not glob.glob(str(work / "engines" / "*"))


def test_a_truncated_safetensors_model(work, lite_files):
    model = str(work / "cut.safetensors")
    shutil.copy(lite_files[0], model)
    shutil.copy(lite_files[0] + ".json", model + ".json")
    truncate(model, 0.5)
    result = cli("run", "in.mp4", "--model", model, "--max-frames", 2, "--no-display", cwd=str(work), timeout=120)
    assert_error(result, "cut.safetensors")
    result = cli("export", model, "-o", "cut.onnx", cwd=str(work), timeout=120)
    assert_error(result, "cut.safetensors")
    assert not os.path.exists(work / "cut.onnx") and temp_files(work) == []
