"""``edge-saliency train / eval / predict`` on tiny datasets: the files they promise, and one-line errors."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from edge_saliency.cli import main
from edge_saliency.models import create_model, save_model
from tests.saliency_fixtures import write_mit1003, write_salicon


@pytest.fixture(scope="module")
def salicon(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("salicon"))
    write_salicon(root, {"train": 4, "val": 3}, shape=(60, 80))
    return root


@pytest.fixture(scope="module")
def lite_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("model") / "lite.safetensors")
    save_model(create_model("emlnet-lite", pretrained=True, input_size=(64, 96)), path)
    return path


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("edge-saliency: error: "), err
    return err[0]


# -- predict -------------------------------------------------------------------------------------------


def test_predict_writes_maps_at_the_image_size_and_overlays(tmp_path, lite_file, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "coffee.jpg"), skdata.coffee()[:, :, ::-1])
    cv2.imwrite(str(photos / "rocket.png"), skdata.rocket()[:, :, ::-1])
    out = tmp_path / "maps"
    assert main(["predict", str(photos), "--model", lite_file, "-o", str(out), "--overlay", "--workers", "0"]) == 0
    assert "wrote 2 saliency maps and overlays" in capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["coffee.png", "coffee_overlay.jpg", "rocket.png", "rocket_overlay.jpg"]
    saliency = cv2.imread(str(out / "coffee.png"), cv2.IMREAD_UNCHANGED)
    assert saliency.shape == skdata.coffee().shape[:2] and saliency.dtype == np.uint8
    assert saliency.min() == 0 and saliency.max() == 255  # min-max scaled
    assert cv2.imread(str(out / "rocket_overlay.jpg")).shape == skdata.rocket().shape
    # a glob, quoted as on a shell
    assert main(["predict", str(photos / "*.png"), "--model", lite_file, "-o", str(tmp_path / "glob"),
                 "--workers", "0"]) == 0
    assert os.listdir(tmp_path / "glob") == ["rocket.png"]


def test_predict_bad_inputs_are_one_line_errors(tmp_path, lite_file, capsys):
    assert main(["predict", str(tmp_path / "missing*.jpg"), "--model", lite_file]) == 1
    assert "no image file or folder matches" in _error_line(capsys)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    assert main(["predict", str(broken), "--model", lite_file, "-o", str(tmp_path / "out"), "--workers", "1"]) == 3
    assert "skipped 1 unreadable file (exit status 3): {}".format(broken) in capsys.readouterr().out
    assert not (tmp_path / "out").exists()  # a run that wrote nothing leaves no folder
    assert main(["predict", str(broken), "--model", "emlnet-nonexistent"]) == 1
    assert "unknown preset" in _error_line(capsys)
    assert main(["predict", str(broken), "--model", lite_file, "--size", "100x96"]) == 1
    assert "not a multiple of 32" in _error_line(capsys)


# -- eval ----------------------------------------------------------------------------------------------


def test_eval_a_model_and_its_saved_maps_agree(tmp_path, salicon, lite_file, capsys):
    out = str(tmp_path / "results" / "val.json")
    maps = str(tmp_path / "saved")
    assert main(["eval", lite_file, "--data", salicon, "--split", "val", "-o", out, "--save-maps", maps,
                 "--no-progress", "--workers", "0"]) == 0
    results = json.load(open(out))
    assert results["images"] == 3 and results["convention"] == "mit" and results["split"] == "val"
    assert set(results["metrics"]) == {"auc_judd", "auc_borji", "auc_shuffled", "nss", "cc", "kld", "sim",
                                       "information_gain"}
    assert all(v["images"] == 3 for v in results["metrics"].values())
    table = open(str(tmp_path / "results" / "val.md")).read()
    assert "| AUC-Judd |" in table and "std with N-1" in table
    # the saved maps score as the model did (they are its uint8 maps; only float rounding differs)
    assert sorted(os.listdir(maps)) == sorted(f[:-4] + ".png" for f in os.listdir(os.path.join(salicon, "maps", "val")))
    out2 = str(tmp_path / "maps.json")
    assert main(["eval", maps, "--data", salicon, "--split", "val", "-o", out2, "--no-progress"]) == 0
    again = json.load(open(out2))
    for metric, value in results["metrics"].items():
        assert again["metrics"][metric]["mean"] == pytest.approx(value["mean"], rel=1e-6, abs=1e-9), metric


def test_eval_of_the_ground_truth_maps_is_perfect(tmp_path, salicon):
    maps = os.path.join(salicon, "maps", "val")
    out = str(tmp_path / "gt.json")
    assert main(["eval", maps, "--data", salicon, "--split", "val", "-o", out, "--no-progress",
                 "--metrics", "cc,sim,kld,nss", "--convention", "pysaliency"]) == 0
    metrics = json.load(open(out))["metrics"]  # (the ground truth is read as float32: 1e-6)
    assert metrics["cc"]["mean"] == pytest.approx(1.0, abs=1e-6)
    assert metrics["sim"]["mean"] == pytest.approx(1.0, abs=1e-6)
    assert metrics["kld"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["nss"]["mean"] > 2
    assert set(metrics) == {"cc", "sim", "kld", "nss"}


def test_eval_on_mit1003_images_of_different_sizes(tmp_path, lite_file):
    root = str(tmp_path / "mit")
    write_mit1003(root)
    out = str(tmp_path / "mit.json")
    assert main(["eval", lite_file, "--data", root, "--split", "all", "-o", out, "--no-progress",
                 "--workers", "0", "--metrics", "auc_judd,cc,information_gain", "--ig-baseline", "center",
                 "--per-image"]) == 0
    results = json.load(open(out))
    assert results["images"] == 3 and len(results["per_image"]) == 3


def test_eval_errors(tmp_path, salicon, lite_file, capsys):
    assert main(["eval", lite_file, "--data", str(tmp_path / "none")]) == 1
    assert "dataset folder not found" in _error_line(capsys)
    assert main(["eval", lite_file, "--data", salicon, "--split", "test"]) == 1
    assert "split 'test' not found" in _error_line(capsys)
    assert main(["eval", lite_file, "--data", salicon, "--metrics", "cc,auc"]) == 1
    assert "unknown metric(s) auc" in _error_line(capsys)
    empty = tmp_path / "empty_maps"
    empty.mkdir()
    assert main(["eval", str(empty), "--data", salicon, "--no-progress", "-o", str(tmp_path / "e.json")]) == 1
    assert "3 of 3 images have no saved map" in _error_line(capsys)
    assert not os.path.exists(tmp_path / "e.json")


# -- train ---------------------------------------------------------------------------------------------


def test_train_cli_writes_a_run_and_resumes(tmp_path, salicon, capsys):
    out = str(tmp_path / "run")
    args = ["train", "--stage", "1", "--model", "emlnet-lite", "--data", salicon, "--out", out, "--size",
            "64x96", "--epochs", "1", "--batch-size", "2", "--workers", "0", "--no-progress", "--lr-milestones"]
    assert main(args) == 0
    assert "best: epoch 1, cc" in capsys.readouterr().out
    config = json.load(open(os.path.join(out, "train_config.json")))
    assert config["lr_milestones"] == [] and config["batch_size"] == 2 and config["momentum"] == 0.9
    assert main(args) == 1
    assert "already holds a training run" in _error_line(capsys)
    assert main(["train", "--resume", out, "--epochs", "2", "--no-progress", "--steps-per-epoch", "1"]) == 0
    log = json.load(open(os.path.join(out, "log.json")))
    assert [e["epoch"] for e in log["epochs"]] == [1, 2]
    shutil.rmtree(out)


def test_train_cli_errors(tmp_path, salicon, capsys):
    assert main(["train", "--stage", "1", "--model", "emlnet-lite"]) == 1
    assert "train needs --data, --out" in _error_line(capsys)
    assert main(["train", "--resume", str(tmp_path)]) == 1
    assert "train_config.json not found" in _error_line(capsys)
    assert main(["train", "--stage", "2", "--model", "emlnet-lite", "--data", salicon, "--out",
                 str(tmp_path / "r"), "--stage1", str(tmp_path / "nope.safetensors")]) == 1
    assert "stage-1 weights file not found" in _error_line(capsys)
    broken = tmp_path / "broken"
    write_salicon(str(broken), {"train": 2}, shape=(60, 80))
    image = next((broken / "images" / "train").iterdir())
    image.write_bytes(b"truncated")
    assert main(["train", "--stage", "1", "--model", "emlnet-lite", "--data", str(broken), "--out",
                 str(tmp_path / "b"), "--size", "64x96", "--no-val", "--workers", "1", "--no-progress"]) == 1
    assert "cannot read image {}".format(image) in _error_line(capsys)


@pytest.mark.parametrize("argv, meant", [(["emlnet-lite", "a.png", "b.png"], "a.png b.png --model emlnet-lite"),
                                         (["lite.onnx", "photos/"], "photos/ --model lite.onnx"),
                                         (["photos/"], "IMAGES ... --model MODEL")])
def test_predict_takes_the_model_as_run_does_and_says_so(argv, meant, capsys):
    assert main(["predict", *argv]) == 1
    assert capsys.readouterr().err.strip() == (
        "edge-saliency: error: predict takes the model as --model, as run does: edge-saliency predict " + meant)


@pytest.mark.parametrize("command", ["predict", "run"])
def test_one_unreadable_image_never_costs_the_others(tmp_path, lite_file, capsys, caplog, command):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, image in (("a", skdata.coffee()), ("c", skdata.rocket())):
        cv2.imwrite(str(photos / (name + ".png")), image[:, :, ::-1])
    (photos / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n not a whole image")
    ok, jpeg = cv2.imencode(".jpg", skdata.astronaut()[:, :, ::-1])
    (photos / "d.jpg").write_bytes(jpeg.tobytes()[: len(jpeg) * 6 // 10])  # libjpeg would fill the rest with grey
    out = tmp_path / "maps"
    if command == "predict":
        argv = ["predict", str(photos), "--model", lite_file, "-o", str(out), "--workers", "2"]
    else:
        argv = ["run", str(photos), "--model", lite_file, "--maps", str(out)]
    assert main(argv) == 3  # finished, and says that input was left out
    printed = capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["a.png", "c.png"]
    assert "skipping {}".format(photos / "b.png") in caplog.text
    assert "skipping {}".format(photos / "d.jpg") in caplog.text and "a truncated JPEG" in caplog.text
    assert ("skipped 2 unreadable files (exit status 3): " in printed if command == "predict"
            else "2 input image(s) or frame(s) could not be read and were skipped (exit status 3)" in printed)


def test_open_model_predict_in_python_is_the_map_the_predict_command_writes(tmp_path, lite_file):
    import edge_saliency

    photos = tmp_path / "photos"
    photos.mkdir()
    images = {"coffee": skdata.coffee(), "rocket": skdata.rocket()}  # RGB, two sizes
    for name, image in images.items():
        cv2.imwrite(str(photos / (name + ".png")), image[:, :, ::-1])
    assert main(["predict", str(photos), "--model", lite_file, "-o", str(tmp_path / "maps"), "--workers", "0"]) == 0
    written = {n: cv2.imread(str(tmp_path / "maps" / (n + ".png")), cv2.IMREAD_UNCHANGED) for n in images}
    with edge_saliency.open_model(lite_file) as model:
        one = model.predict(images["coffee"])
        assert one.shape == images["coffee"].shape[:2] and one.dtype == np.uint8
        # the command ran both images in one batch: the same batch is exactly the same maps (one code path)
        batch = model.predict_batch([images["coffee"], images["rocket"]])
        np.testing.assert_array_equal(batch[0], written["coffee"])
        np.testing.assert_array_equal(batch[1], written["rocket"])
        bgr = model.predict_batch([images["coffee"][:, :, ::-1], cv2.imread(str(photos / "rocket.png"))], bgr=True)
        np.testing.assert_array_equal(bgr[1], written["rocket"])
        # alone, an image goes through PyTorch in a batch of one, whose float sums may round a few pixels of the
        # uint8 map the other way: at most one level, on at most 0.1 % of the pixels
        diff = np.abs(one.astype(int) - written["coffee"].astype(int))
        assert diff.max() <= 1 and np.count_nonzero(diff) <= one.size // 1000
        with pytest.raises(edge_saliency.UserError, match="image 0 is float64 10×10; predict takes H×W×3 uint8"):
            model.predict(np.zeros((10, 10)))
    assert not model.runner.is_active  # the with block closed it
