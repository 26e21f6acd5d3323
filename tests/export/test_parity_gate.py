"""The fp32 parity gate (edge_saliency.export.evaluate): it passes correct exports of every preset whose
BatchNorm statistics are realistic (measured on real photos, then perturbed), and it fails on real export
bugs injected into the graph: a wrong resize mode, swapped decoder inputs."""
import os

import pytest
import torch
import torch.nn.functional as F

from edge_saliency.export import api, evaluate, graph
from edge_saliency.models import create_model, save_model
from edge_saliency.models.emlnet import EMLNet
from edge_saliency.models.layers import resize_override
from edge_saliency.models.registry import list_presets
from tests.realistic_weights import realistic_batchnorm

SMALL = (128, 160)


def realistic_model(preset, size, seed=0):
    torch.manual_seed(seed)
    return realistic_batchnorm(create_model(preset, input_size=size), size, seed=seed)


@pytest.fixture(scope="module")
def official():
    return realistic_model("emlnet-resnet50-official", SMALL)


@pytest.fixture(scope="module")
def lite():
    return realistic_model("emlnet-lite", SMALL)


def check_fp32(model, size, proto=None):
    """What export_model runs for the fp32 file: the graph, the parity frames, PyTorch float32 and float64, the
    gate (raises ParityError when it fails)."""
    proto = proto if proto is not None else graph.simplify(graph.export_onnx(model, size))
    inputs = evaluate.eval_inputs(size, model.config.preprocess)
    references, exact = evaluate.torch_outputs(model, inputs, exact=True)
    return api._check_variant("fp32", proto.SerializeToString(), inputs, references, exact, enforce=True)


@pytest.mark.parametrize("name", ["official", "lite"])
def test_correct_exports_pass(name, request):
    model = request.getfixturevalue(name)
    result = check_fp32(model, SMALL)
    assert result["passed"] and result["worst"]["error"] > 0
    for row in result["results"]:
        assert row["error"] <= row["limit"] and row["cc"] > 1 - 1e-6
    # the maps vary (realistic statistics): a gate over near-constant maps would prove little
    assert min(float(o.std()) for o in evaluate.torch_outputs(model, evaluate.eval_inputs(
        SMALL, model.config.preprocess)[:2])) > 0.05


def _export_with_wrong_resize(model, size, monkeypatch):
    def wrong(x, out_size, mode, align_corners):  # nearest <-> bilinear
        if mode == "nearest":
            return F.interpolate(x, size=out_size, mode="bilinear", align_corners=False)
        return F.interpolate(x, size=out_size, mode="nearest")

    with monkeypatch.context() as m:
        m.setattr(graph, "resize_override", lambda fn: resize_override(wrong))
        return graph.export_onnx(model, size)


def _export_with_swapped_decoder_inputs(model, size, monkeypatch):
    original = EMLNet.readout_maps

    def swapped(self, x):  # ImageNet readout 2 and Places readout 2 trade places: same shapes, wrong weights
        maps = original(self, x)
        maps[2], maps[7] = maps[7], maps[2]
        return maps

    with monkeypatch.context() as m:
        m.setattr(EMLNet, "readout_maps", swapped)
        return graph.export_onnx(model, size)


@pytest.mark.parametrize("bug", [_export_with_wrong_resize, _export_with_swapped_decoder_inputs],
                         ids=["wrong-resize-mode", "swapped-decoder-inputs"])
def test_export_bugs_fail(official, bug, monkeypatch):
    proto = bug(official, SMALL, monkeypatch)
    with pytest.raises(evaluate.ParityError, match=r"fp32 parity check failed: astronaut: max abs error .* vs the "
                                                   r"float64 model > 4 x PyTorch float32's"):
        check_fp32(official, SMALL, proto)


def test_a_wrong_resize_in_a_stage1_model_fails(lite, monkeypatch):
    with pytest.raises(evaluate.ParityError, match="fp32 parity check failed"):
        check_fp32(lite, SMALL, _export_with_wrong_resize(lite, SMALL, monkeypatch))


@pytest.mark.slow
@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_exports_at_its_default_size(preset, tmp_path):
    """`edge-saliency export` of each preset at its default size (480×640; the headline model takes minutes)
    with realistic BatchNorm statistics: the fp32 file is written and its gate passed."""
    model = realistic_model(preset, create_model(preset).config.input_size)
    weights = str(tmp_path / "model.safetensors")
    save_model(model, weights)
    result = api.export_model(weights, str(tmp_path / "model.onnx"))
    info = api.read_sidecar(result.files["fp32"]).info
    assert os.path.isfile(result.files["fp32"]) and info["parity"]["passed"]
    assert info["input_size"] == list(model.config.input_size) == [480, 640]
    assert info["preprocess"]["mode"] == model.config.preprocess
