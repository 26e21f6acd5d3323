"""Runners: ONNX Runtime and PyTorch agree on real frames; batching, shapes, backend choice, errors."""
import dataclasses
import importlib.util
import json

import numpy as np
import pytest

from edge_saliency.errors import InputShapeError, MissingDependencyError, UserError
from edge_saliency.files.sidecar import Sidecar
from edge_saliency.outputs.sample_clip import sample_frames
from edge_saliency.pipeline.frames import prepare_frame
from edge_saliency.runners import (
    TOLERANCES,
    check_saliency_model,
    choose_backend,
    compare_runners,
    create_runner,
    model_kind,
)
from edge_saliency.runners.compare import compare_outputs
from edge_saliency.runners.ort_runner import CPU, CUDA, TENSORRT, choose_providers
from edge_saliency.vocabulary import tolerance_for
from tests.stream_fixtures import LITE_SIZE, tiny_conv_onnx


def real_batch(n=4, size=LITE_SIZE):
    """Frames of the sample clip (pans and zooms over scikit-image photos) as a model batch."""
    frames = list(sample_frames(n, (180, 240)))
    return np.concatenate([prepare_frame(f, size, "opencv-area")[0] for f in frames], axis=0)


def test_onnxruntime_and_pytorch_agree_on_real_frames(lite_files):
    weights, onnx_path = lite_files
    ort_runner = create_runner(onnx_path, device="cpu")
    torch_runner = create_runner(weights, device="cpu")
    assert (ort_runner.backend, torch_runner.backend) == ("onnxruntime", "torch")
    x = real_batch(4)
    results = compare_runners([ort_runner, torch_runner], [x, x[:1]])
    assert len(results) == 2 and all(r.ok for r in results), [str(r) for r in results]
    assert results[0].tolerance == TOLERANCES["fp32"]
    assert results[0].max_abs < 1e-4
    assert not ort_runner.is_active and not torch_runner.is_active  # compare_runners deactivates what it started


def test_comparator_catches_a_difference_and_uses_the_looser_precision():
    a = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    b = a + np.float32(2e-3)
    assert not compare_outputs(a, b, tolerance_for("fp32")).ok
    assert compare_outputs(a, b, tolerance_for("fp32", "fp16")).ok
    with pytest.raises(InputShapeError):
        compare_outputs(a, b[:1], tolerance_for("fp32"))


def test_runners_are_context_managers_and_refuse_use_when_inactive(lite_files):
    runner = create_runner(lite_files[1], device="cpu")
    with pytest.raises(UserError, match="not active"):
        runner.infer(real_batch(1))
    with runner as active:
        assert active.is_active and active.fixed_size == LITE_SIZE and active.max_batch is None
        assert active.infer(real_batch(2)).shape == (2, 1) + LITE_SIZE
    assert not runner.is_active


def test_a_static_batch_model_gets_split_and_padded_batches(tmp_path):
    static = tiny_conv_onnx(tmp_path / "b2.onnx", size=(16, 24), batch=2)
    dynamic = tiny_conv_onnx(tmp_path / "dyn.onnx", size=(16, 24))  # same weights, any batch
    x = np.random.default_rng(3).random((5, 3, 16, 24)).astype(np.float32)
    with create_runner(static, device="cpu") as runner, create_runner(dynamic, device="cpu") as reference:
        assert runner.static_batch and runner.max_batch == 2
        np.testing.assert_allclose(runner.infer(x), reference.infer(x), atol=1e-6)


def test_wrong_input_sizes_and_non_rgb_models_are_refused(tmp_path, lite_files):
    with create_runner(lite_files[1], device="cpu") as runner:
        with pytest.raises(InputShapeError, match=r"\[-1, 3, 64, 96\]"):
            runner.infer(np.zeros((1, 3, 32, 32), np.float32))
    grey = tiny_conv_onnx(tmp_path / "grey.onnx", channels=1)
    with create_runner(grey, device="cpu") as runner:
        with pytest.raises(InputShapeError, match="3-channel"):
            check_saliency_model(runner)


def test_classic_backend_is_opencv_spectral_residual_on_the_frame():
    import cv2

    frames = list(sample_frames(2, (96, 128)))
    x = np.concatenate([prepare_frame(f, (96, 128), "opencv-area")[0] for f in frames])
    with create_runner(None) as runner:
        assert runner.backend == "classic"
        maps = runner.infer(x)
    assert maps.shape == (2, 1, 96, 128) and maps.dtype == np.float32
    ok, expected = cv2.saliency.StaticSaliencySpectralResidual_create().computeSaliency(frames[1])
    assert ok
    np.testing.assert_allclose(maps[1, 0], expected, atol=2e-2)  # x went through uint8 -> [0, 1] -> uint8


@pytest.mark.parametrize("kind, available, expected", [
    ("none", {}, "classic"),
    ("engine", {}, "tensorrt"),
    ("onnxruntime", {}, "onnxruntime"),
    ("onnx", {"tensorrt": False}, "onnxruntime"),
    ("onnx", {"tensorrt": True}, "tensorrt"),
    ("weights", {}, "torch"),
    ("preset", {}, "torch"),
])
def test_auto_picks_the_best_backend_for_the_model(kind, available, expected):
    assert choose_backend(kind, "auto", available) == expected


@pytest.mark.parametrize("kind, backend, message", [
    ("onnx", "torch", "cannot run a onnx model"),
    ("engine", "onnxruntime", "cannot run a engine model"),
    ("none", "onnxruntime", "needs a model"),
    ("onnx", "classic", "takes no model"),
])
def test_explicit_backend_must_fit_the_model(kind, backend, message):
    with pytest.raises(UserError, match=message):
        choose_backend(kind, backend)


def test_model_kind_reads_the_sidecar_and_extension(tmp_path, lite_files):
    assert model_kind(None) == "none"
    assert model_kind("emlnet-lite") == "preset"
    assert model_kind(lite_files[0]) == "weights" and model_kind(lite_files[1]) == "onnx"
    engine = tmp_path / "model.bin"
    engine.write_bytes(b"x")
    Sidecar(kind="engine", model=None, info={}).save(str(engine))
    assert model_kind(str(engine)) == "engine"
    with pytest.raises(UserError, match="not found"):
        model_kind(str(tmp_path / "missing.onnx"))
    other = tmp_path / "model.xyz"
    other.write_bytes(b"x")
    with pytest.raises(UserError, match="cannot tell"):
        model_kind(str(other))


@pytest.mark.parametrize("device, available, tensorrt_ep, expected", [
    ("auto", [CPU], False, [CPU]),
    ("cpu", [TENSORRT, CUDA, CPU], False, [CPU]),
    ("auto", [CUDA, CPU], False, [CUDA, CPU]),
    ("cuda", [CUDA, CPU], False, [CUDA, CPU]),
    ("auto", [TENSORRT, CUDA, CPU], True, [TENSORRT, CUDA, CPU]),
])
def test_execution_providers(device, available, tensorrt_ep, expected):
    providers = choose_providers(device, available, tensorrt_ep, fp16=True)
    assert [p if isinstance(p, str) else p[0] for p in providers] == expected
    if tensorrt_ep:
        assert providers[0][1]["trt_fp16_enable"] is True and providers[0][1]["trt_engine_cache_enable"]


def test_missing_execution_providers_are_clear_errors():
    with pytest.raises(UserError, match="no CUDA execution provider"):
        choose_providers("cuda", [CPU])
    with pytest.raises(UserError, match="no TensorRT execution provider"):
        choose_providers("auto", [CUDA, CPU], tensorrt_ep=True)


def test_onnxruntime_artifact_is_checked_and_loaded_without_reoptimizing(tmp_path, lite_files):
    from edge_saliency.engine.build import build_engine
    from edge_saliency.engine.cache import ArtifactMismatchError
    from edge_saliency.engine.options import BuildOptions

    artifact = build_engine(lite_files[1], BuildOptions(precision="fp32"), backend="onnxruntime",
                            output_dir=str(tmp_path / "engines")).path
    x = real_batch(2)
    with create_runner(artifact) as runner, create_runner(lite_files[1], device="cpu") as plain:
        assert runner.backend == "onnxruntime" and runner.providers == [CPU]
        np.testing.assert_allclose(runner.infer(x), plain.infer(x), atol=1e-5)
    sidecar_path = artifact + ".json"
    data = json.load(open(sidecar_path))
    data["info"]["target"]["runtime_version"] = "0.0.1"
    json.dump(data, open(sidecar_path, "w"))
    with pytest.raises(ArtifactMismatchError, match="rebuild it here"):
        create_runner(artifact).activate()


def test_onnx_with_plugin_nodes_needs_the_reference_op(tmp_path):
    from tests.engine.conftest import tiny_saliency_onnx

    path = tiny_saliency_onnx(tmp_path / "plugin.onnx", plugin=True)
    runner = create_runner(path, device="cpu")
    if importlib.util.find_spec("edge_saliency.plugins.ort_op") is None:
        with pytest.raises(UserError, match="BilinearUpsample_TRT"):
            runner.activate()
    else:
        with runner:
            assert runner.infer(np.zeros((1, 3, 32, 48), np.float32)).shape == (1, 1, 32, 48)


def test_torch_backend_choices_and_errors(lite_files):
    with pytest.raises(UserError, match="needs a CUDA GPU"):
        create_runner(lite_files[0], device="cpu", precision="fp16").activate()
    with pytest.raises(UserError, match="int8 needs TensorRT"):
        create_runner(lite_files[0], device="cpu", precision="int8").activate()
    with create_runner("emlnet-lite", device="cpu") as runner:  # a preset: random weights, with a warning
        assert runner.preferred_size == (480, 640) and runner.precision == "fp32"
        assert runner.infer(real_batch(1, (64, 64))).shape == (1, 1, 64, 64)
        with pytest.raises(InputShapeError, match="multiple of 32"):
            runner.infer(np.zeros((1, 3, 50, 64), np.float32))


def test_tensorrt_backend_without_tensorrt_names_the_extra(tmp_path):
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"not an engine")
    runner = create_runner(str(engine))
    assert runner.backend == "tensorrt"
    with pytest.raises(MissingDependencyError, match="tensorrt"):
        runner.activate()


def test_comparison_is_printable():
    a = np.zeros((1, 1, 2, 2), np.float32)
    text = str(compare_outputs(a, a, tolerance_for("fp16"), ("ort", "trt")))
    assert text.startswith("ort vs trt") and text.endswith("ok")
    assert dataclasses.asdict(tolerance_for("int8"))["atol"] == TOLERANCES["int8"].atol


def test_runners_take_the_models_preprocessing_from_its_sidecar(lite_files, tmp_path):
    import shutil

    from edge_saliency.models.registry import get_preset
    from edge_saliency.pipeline.options import PipelineOptions
    from edge_saliency.pipeline.pipeline import Pipeline
    from tests.stream_fixtures import ArraySource

    onnx_path = str(tmp_path / "model.onnx")
    shutil.copy(lite_files[1], onnx_path)
    with create_runner(onnx_path, "onnxruntime", device="cpu") as runner:  # no sidecar: unknown
        assert runner.preprocess is None
        assert Pipeline([ArraySource(1)], runner, [], PipelineOptions()).preprocess == "opencv-area"
    config = get_preset("emlnet-lite")
    config.preprocess = "opencv-linear"
    Sidecar(kind="onnx", model=config).save(onnx_path)
    with create_runner(onnx_path, "onnxruntime", device="cpu") as runner:
        assert runner.preprocess == "opencv-linear"
        assert Pipeline([ArraySource(1)], runner, [], PipelineOptions()).preprocess == "opencv-linear"
        chosen = Pipeline([ArraySource(1)], runner, [], PipelineOptions(preprocess="pillow-bilinear"))
        assert chosen.preprocess == "pillow-bilinear"  # run --preprocess
    with create_runner(lite_files[0], "torch", device="cpu") as runner:  # a saved model: its config
        assert runner.preprocess == "opencv-area"
    with create_runner(None) as runner:
        assert runner.preprocess == "opencv-linear"  # classic: no trained input, the fastest resize


def test_activating_twice_is_an_error_and_metadata_needs_an_active_runner(tmp_path):
    from edge_saliency.runners import TensorMetadata

    path = tiny_conv_onnx(tmp_path / "m.onnx", size=(16, 24))
    runner = create_runner(path, device="cpu")
    with pytest.raises(UserError, match="not active.*get_input_metadata"):
        runner.get_input_metadata()
    with runner:
        meta = runner.get_input_metadata()
        assert meta == TensorMetadata(runner.input_name, (-1, 3, 16, 24), np.float32)  # a dynamic batch
        assert meta.dtype == np.dtype(np.float32) and meta.name == "image"
        with pytest.raises(UserError, match="already active"):
            runner.activate()
        assert runner.is_active  # the refused second activation left it as it was
    runner.activate()  # once deactivated, it activates again
    runner.deactivate()


@pytest.mark.parametrize("shape, dtype, message", [((1, 0, 4), "float32", "positive or -1"),
                                                   ((1, "h"), "float32", "not a sequence of integers"),
                                                   ((1, 3), "not-a-dtype", "data type")])
def test_tensor_metadata_is_checked(shape, dtype, message):
    from edge_saliency.runners import TensorMetadata

    with pytest.raises((ValueError, TypeError), match=message):
        TensorMetadata("x", shape, dtype)
    with pytest.raises(ValueError, match="name"):
        TensorMetadata("", (1,), "float32")


def test_a_runner_left_active_warns_when_collected(tmp_path):
    import gc

    from edge_saliency.runners import RunnerLeftActiveWarning

    runner = create_runner(tiny_conv_onnx(tmp_path / "m.onnx", size=(16, 24)), device="cpu").activate()
    with pytest.warns(RunnerLeftActiveWarning, match="never deactivated.*garbage-collected"):
        del runner
        gc.collect()
    closed = create_runner(tiny_conv_onnx(tmp_path / "n.onnx", size=(16, 24)), device="cpu")
    with closed:
        pass
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RunnerLeftActiveWarning)
        del closed  # deactivated: silent
        gc.collect()


def test_a_runner_left_active_warns_at_exit(tmp_path):
    import subprocess
    import sys

    path = tiny_conv_onnx(tmp_path / "m.onnx", size=(16, 24))
    code = ("import sys\nfrom edge_saliency.runners import create_runner\n"
            "KEEP = create_runner(sys.argv[1], device='cpu').activate()\n")  # a module global: alive at exit
    result = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("RunnerLeftActiveWarning") == 1 and "at exit" in result.stderr


def test_an_onnx_file_on_tensorrt_is_built_when_the_runner_activates_not_before(tmp_path, monkeypatch):
    from edge_saliency.runners import trt_runner

    path = tiny_conv_onnx(tmp_path / "m.onnx", size=(16, 24))
    calls = []
    monkeypatch.setattr(trt_runner.EngineFromOnnx, "__call__", lambda self: calls.append(self.source) or "gone.engine")
    runner = create_runner(path, "tensorrt", engine_dir=str(tmp_path / "engines"))
    assert calls == [] and runner.path == path and runner.name == "m.onnx"  # created cheaply: nothing built
    with pytest.raises(UserError, match="engine file not found: gone.engine"):
        runner.activate()
    assert calls == [path] and not runner.is_active
