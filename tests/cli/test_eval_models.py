"""``eval`` / ``predict`` over every model kind, through the runners: a preset with --weights, the .safetensors,
its fp32 / fp16 / int8 ONNX files and ONNX Runtime artifacts, scored on the same images and compared."""
import json
import logging
import os

import pytest

from edge_saliency.cli import main
from edge_saliency.data.examples import write_salicon
from edge_saliency.files.hashing import file_sha256

SIZE = (96, 128)
FP32_PATHS = ("emlnet-lite", "lite.safetensors", "lite.onnx", "artifact-fp32")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny SALICON-layout split; emlnet-lite at 96x128 (ImageNet backbone, random readouts and decoder) saved
    as .safetensors, exported to fp32 / fp16 / int8 ONNX, and ONNX Runtime artifacts of the fp32 and fp16 files."""
    import torch

    from edge_saliency.engine.build import build_engine
    from edge_saliency.engine.options import BuildOptions
    from edge_saliency.export import export_model
    from edge_saliency.models import create_model, save_model

    root = tmp_path_factory.mktemp("eval-models")
    write_salicon(str(root / "data"), {"val": 4}, shape=(72, 96))
    torch.manual_seed(0)
    save_model(create_model("emlnet-lite", pretrained=True, input_size=SIZE), str(root / "lite.safetensors"))
    export_model(str(root / "lite.safetensors"), str(root / "lite.onnx"), precisions=("fp32", "fp16", "int8"),
                 simplify=False, calibration_frames=4)
    paths = {name: str(root / name) for name in ("lite.safetensors", "lite.onnx", "lite-fp16.onnx",
                                                  "lite-int8.onnx")}
    for precision, onnx in (("fp32", "lite.onnx"), ("fp16", "lite-fp16.onnx")):
        paths["artifact-" + precision] = build_engine(
            paths[onnx], BuildOptions(precision=precision), backend="onnxruntime",
            output_dir=str(root / "engines")).path
    paths["root"], paths["data"] = str(root), str(root / "data")
    return paths


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("edge-saliency: error: "), err
    return err[0]


def test_every_model_kind_on_the_same_images_with_one_comparison_table(models, tmp_path, capsys, caplog):
    order = ["emlnet-lite", "lite.safetensors", "lite.onnx", "artifact-fp32", "artifact-fp16", "lite-fp16.onnx",
             "lite-int8.onnx"]
    given = ["emlnet-lite"] + [models[name] for name in order[1:]]
    out = str(tmp_path / "compare.json")
    with caplog.at_level(logging.INFO, logger="edge_saliency"):
        assert main(["eval", *given, "--weights", models["lite.safetensors"], "--data", models["data"], "--split",
                     "val", "-o", out, "--no-progress", "--workers", "0"]) == 0
    printed = capsys.readouterr().out
    # the preset runs at the size saved with its weights, not the preset's 480x640, and says so
    assert "emlnet-lite: torch" in caplog.text
    assert "input 96x128 (saved with the weights lite.safetensors)" in caplog.text
    assert "input 96x128 (the ONNX file's export size), pre-processing opencv-area (the model's)" in caplog.text
    results = json.load(open(out))
    labels = [os.path.basename(p) for p in given]
    table = printed.splitlines()
    assert table[0].split() == ["metric"] + labels
    assert len([line for line in table if line.startswith(("AUC-Judd", "CC ", "KLD", "IG"))]) == 4
    comparison = results["comparison"]
    assert comparison["reference"] == "emlnet-lite" and len(results["models"]) == len(given)
    assert set(comparison["metrics"]) == {"auc_judd", "auc_borji", "auc_shuffled", "nss", "cc", "kld", "sim",
                                          "information_gain"}
    by_name = dict(zip(order, results["models"]))
    # the fp32 paths compute the same maps: every metric within 1e-5 of the PyTorch preset + weights
    for metric, rows in comparison["metrics"].items():
        means = {name: row["mean"] for name, row in zip(order, rows)}
        for name in FP32_PATHS:
            assert means[name] == pytest.approx(means["emlnet-lite"], abs=1e-5), (metric, name)
            assert by_name[name]["metrics"][metric]["mean"] == means[name]
        for row in rows:
            assert row["difference"] == pytest.approx(row["mean"] - means["emlnet-lite"], abs=1e-12)
    # int8 moves the maps: at least one metric differs from fp32 (so the comparison can see a difference)
    assert any(abs(rows[order.index("lite-int8.onnx")]["difference"]) > 1e-4
               for rows in comparison["metrics"].values())
    # what each result records
    expected = {"emlnet-lite": ("preset", "torch", "fp32"), "lite.safetensors": ("safetensors", "torch", "fp32"),
                "lite.onnx": ("onnx", "onnxruntime", "fp32"), "artifact-fp32": ("onnxruntime", "onnxruntime", "fp32"),
                # ONNX Runtime's CPU optimisation stores the fp16 file's weights as fp32: labelled by what they are
                "artifact-fp16": ("onnxruntime", "onnxruntime", "fp32"),
                "lite-fp16.onnx": ("onnx", "onnxruntime", "fp16"), "lite-int8.onnx": ("onnx", "onnxruntime", "int8")}
    for name, result in by_name.items():
        info = result["model_info"]
        assert (info["kind"], info["backend"], info["precision"]) == expected[name], name
        assert info["input_size"] == list(SIZE) and info["preprocess"] == "opencv-area"
        if name == "emlnet-lite":
            assert info["file"] == {"preset": "emlnet-lite"}
            assert info["weights"]["sha256"] == file_sha256(models["lite.safetensors"])
        else:
            assert info["file"]["sha256"] == file_sha256(models[name]) and info["weights"] is None
        assert result["conventions"]["cc"].startswith("Pearson") and result["convention"] == "mit"
    markdown = open(str(tmp_path / "compare.md")).read()
    assert "| lite-int8.onnx (" in markdown and file_sha256(models["lite-int8.onnx"])[:12] in markdown


def test_one_model_records_its_files_size_backend_and_preprocessing(models, tmp_path):
    out = str(tmp_path / "int8.json")
    assert main(["eval", models["lite-int8.onnx"], "--data", models["data"], "--split", "val", "-o", out,
                 "--no-progress", "--workers", "2", "--metrics", "cc,nss"]) == 0
    results = json.load(open(out))
    info = results["model_info"]
    assert info["file"] == {"file": models["lite-int8.onnx"], "sha256": file_sha256(models["lite-int8.onnx"])}
    assert (info["precision"], info["backend"], info["input_size"]) == ("int8", "onnxruntime", list(SIZE))
    assert set(results["metrics"]) == {"cc", "nss"} and results["images"] == 4
    assert "sha256" in open(str(tmp_path / "int8.md")).read()


def test_predict_runs_an_onnx_file_and_never_writes_over_an_input(models, tmp_path, capsys):
    import cv2
    import numpy as np

    photos = tmp_path / "photos"
    photos.mkdir()
    image = (np.arange(60 * 80 * 3) % 251).astype(np.uint8).reshape(60, 80, 3)
    cv2.imwrite(str(photos / "a.png"), image)
    out = tmp_path / "maps"
    assert main(["predict", str(photos), "--model", models["lite-int8.onnx"], "-o", str(out), "--workers", "0"]) == 0
    assert os.listdir(out) == ["a.png"] and cv2.imread(str(out / "a.png"), cv2.IMREAD_UNCHANGED).shape == (60, 80)
    before = (photos / "a.png").read_bytes()
    assert main(["predict", str(photos), "--model", models["lite-int8.onnx"], "-o", str(photos)]) == 1
    assert "would destroy the input" in _error_line(capsys)
    assert (photos / "a.png").read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (["{lite.onnx}", "--weights", "{lite.safetensors}"], "--weights goes with a preset name or a config .json"),
    (["{root}/missing.onnx"], "model file not found: "),
    (["{lite.onnx}.json"], "is the sidecar of "),
    (["{root}/res_decoder.pth"], "convert-official"),
    (["{lite.onnx}", "{lite.onnx}"], "a model is given twice"),
    (["{lite.onnx}", "--size", "64x96"], "takes 96x128 inputs only (a static export)"),
    (["{lite.onnx}", "--save-maps", "{data}/maps/val"], "would destroy the input"),
    (["emlnet-nonexistent"], "unknown preset 'emlnet-nonexistent'"),
])
def test_wrong_inputs_are_one_line_errors(models, tmp_path, capsys, args, message):
    (tmp_path / "res_decoder.pth").write_bytes(b"x")
    if "res_decoder" in args[0]:
        args = [str(tmp_path / "res_decoder.pth")]
    for key, value in models.items():
        args = [a.replace("{" + key + "}", value) for a in args]
    before = sorted(os.listdir(os.path.join(models["data"], "maps", "val")))
    code = main(["eval", *args, "--data", models["data"], "--split", "val", "-o", str(tmp_path / "e.json"),
                 "--no-progress", "--workers", "0"])
    assert code == 1
    assert message in _error_line(capsys)
    assert not os.path.exists(tmp_path / "e.json")
    assert sorted(os.listdir(os.path.join(models["data"], "maps", "val"))) == before


def test_device_takes_the_one_vocabulary(models, capsys):
    with pytest.raises(SystemExit):
        main(["eval", models["lite.onnx"], "--data", models["data"], "--device", "gpu0"])
    assert "--device must be auto, cpu, cuda or cuda:N (N = GPU number), got 'gpu0'" in capsys.readouterr().err


def test_the_readme_command_runs_as_written(models):
    """README's "what fp16 / int8 cost" lines, run in a folder holding the lite*.onnx files they name."""
    import re
    import shlex
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    block = next(b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "lite-int8.onnx --data" in b)
    env = dict(os.environ, PYTHONPATH=root)
    for line in block.strip().splitlines():
        words = shlex.split(line, comments=True)
        command = [sys.executable] + words[1:] if words[0] == "python" else \
            [sys.executable, "-m", "edge_saliency"] + words[1:]
        result = subprocess.run(command, cwd=models["root"], env=env, capture_output=True, text=True)
        assert result.returncode == 0, (line, result.stderr[-2000:])
    results = json.load(open(os.path.join(models["root"], "lite-cost.json")))
    assert [m["model_info"]["precision"] for m in results["models"]] == ["fp32", "fp16", "int8"]
    assert "lite-int8.onnx" in result.stdout.splitlines()[0]


@pytest.fixture
def string_parses(monkeypatch):
    """Every model string ModelSource.parse is given, in order (a ModelSource passed down is not a parse)."""
    from edge_saliency.models.source import ModelSource

    seen = []
    original = ModelSource.parse.__func__

    def counting(cls, model, *args, **kwargs):
        if isinstance(model, str):
            seen.append(model)
        return original(cls, model, *args, **kwargs)

    monkeypatch.setattr(ModelSource, "parse", classmethod(counting))
    return seen


@pytest.mark.parametrize("command", ["eval", "predict", "run", "bench", "export"])
def test_a_command_parses_each_model_string_once(models, tmp_path, string_parses, command):
    photos = tmp_path / "photos"
    photos.mkdir()
    images = sorted(os.listdir(os.path.join(models["data"], "images", "val")))
    for name in images[:2]:
        os.link(os.path.join(models["data"], "images", "val", name), str(photos / name))
    given = [models["lite.onnx"], models["lite.safetensors"], models["artifact-fp32"]]
    if command == "eval":
        args = ["eval", *given, "--data", models["data"], "--split", "val", "-o", str(tmp_path / "e.json"),
                "--no-progress", "--workers", "0"]
    elif command == "predict":
        args = ["predict", str(photos), "--model", given[0], "-o", str(tmp_path / "maps"), "--workers", "0"]
        given = given[:1]
    elif command == "run":
        args = ["run", str(photos), "--model", given[1], "--maps", str(tmp_path / "maps")]
        given = given[1:2]
    elif command == "bench":
        args = ["bench", given[0], "--backend", "onnxruntime", "--precision", "fp32", "--iterations", "2",
                "--warmup", "1", "--accuracy-frames", "2", "--stage-frames", "2", "--pipeline-frames", "2",
                "--no-plot", "-o", str(tmp_path / "bench")]
        given = given[:1]
    else:
        args = ["export", given[1], "-o", str(tmp_path / "again.onnx"), "--precision", "fp32", "--no-simplify"]
        given = given[1:2]
    assert main(args) == 0
    assert sorted(string_parses) == sorted(given), string_parses


def test_an_unreadable_image_is_excluded_for_every_model_and_the_report_says_which(models, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(models["data"], str(data))
    images = sorted((data / "images" / "val").iterdir())
    images[1].write_bytes(images[1].read_bytes()[:40])  # cut short
    out = tmp_path / "e.json"
    assert main(["eval", models["lite.onnx"], models["lite-fp16.onnx"], "--data", str(data), "--split", "val",
                 "-o", str(out), "--no-progress", "--workers", "0"]) == 3
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert [m["images"] for m in report["models"]] == [len(images) - 1] * 2  # the same images for both
    assert [e["file"] for e in report["excluded"]] == [str(images[1])]
    assert "excluded 1 unreadable image(s) for every model (exit status 3): {}".format(images[1]) in printed
    assert "excluded (unreadable, for every model): 1" in (tmp_path / "e.md").read_text()


def test_the_model_lines_come_before_the_progress_bar_never_inside_it(models, tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "edge_saliency", "eval", models["lite.onnx"], "--data",
                             models["data"], "--split", "val", "-o", str(tmp_path / "e.json"), "--workers", "0"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "onnxruntime (" in result.stderr and "%|" in result.stderr, result.stderr
    assert result.stderr.index("onnxruntime (") < result.stderr.index("%|"), result.stderr  # printed first
