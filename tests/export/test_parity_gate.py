"""The fp32 parity gate (edge_saliency.export.evaluate): it passes correct exports of every preset whose
BatchNorm statistics are realistic (measured on real photos, then perturbed), and it fails on real export
bugs injected into the exported graph: a wrong resize mode, swapped decoder inputs."""
import copy
import os

import pytest
import torch

from edge_saliency.export import api, evaluate, graph
from edge_saliency.export.frames import photos
from edge_saliency.models import create_model, save_model
from edge_saliency.models.registry import list_presets
from tests.realistic_weights import realistic_batchnorm

SMALL = (96, 128)


class Exported:
    """A model with realistic statistics, its simplified fp32 graph, and what export_model compares it with:
    parity frames (2 held-out photos and random input here), PyTorch float32 and float64 outputs."""

    def __init__(self, preset, size):
        torch.manual_seed(0)
        self.model = realistic_batchnorm(create_model(preset, input_size=size), size)
        self.proto = graph.simplify(graph.export_onnx(self.model, size))
        self.inputs = evaluate.eval_inputs(size, self.model.config.preprocess, frames=photos(("astronaut", "coffee")))
        self.references, self.exact = evaluate.torch_outputs(self.model, self.inputs, exact=True)

    def check(self, proto=None):
        """export_model's check of the fp32 file (raises ParityError when the gate fails)."""
        data = (proto if proto is not None else self.proto).SerializeToString()
        return api._check_variant("fp32", data, self.inputs, self.references, self.exact, enforce=True)


@pytest.fixture(scope="module")
def official():
    return Exported("emlnet-resnet50-official", SMALL)


@pytest.fixture(scope="module")
def lite():
    return Exported("emlnet-lite", SMALL)


@pytest.mark.parametrize("name", ["official", "lite"])
def test_correct_exports_pass(name, request):
    exported = request.getfixturevalue(name)
    result = exported.check()
    assert result["passed"] and result["worst"]["error"] > 0
    # float64 on the first photo and the random input; every input is reported against float32
    assert [r["input"] for r in result["results"] if "error" in r] == ["astronaut", "random"]
    for row in result["results"]:
        assert row["cc"] > 1 - 1e-6 and row.get("error", 0) <= row.get("limit", 1)
    # the maps vary (realistic statistics): a gate over near-constant maps would prove little
    assert min(float(r.std()) for r in exported.references) > 0.05


def _node(proto, op_type, prefix, index=0):
    nodes = [n for n in proto.graph.node if n.op_type == op_type and n.name.startswith(prefix)]
    assert nodes, (op_type, prefix)
    return nodes[index]


def wrong_resize_mode(proto):
    """One Resize node with the other mode: nearest <-> linear (bilinear)."""
    proto = copy.deepcopy(proto)
    node = _node(proto, "Resize", "/", 0)
    mode = next(a for a in node.attribute if a.name == "mode")
    mode.s = b"linear" if mode.s == b"nearest" else b"nearest"
    return proto


def swapped_decoder_inputs(proto):
    """The readout maps of decoder blocks 2 (ImageNet, layer2) and 7 (Places, layer2) trade places: same
    shapes, wrong weights."""
    proto = copy.deepcopy(proto)
    a, b = _node(proto, "Conv", "/decoder/blocks.2/"), _node(proto, "Conv", "/decoder/blocks.7/")
    a.input[0], b.input[0] = b.input[0], a.input[0]
    return proto


@pytest.mark.parametrize("bug", [wrong_resize_mode, swapped_decoder_inputs])
def test_export_bugs_fail(official, bug):
    with pytest.raises(evaluate.ParityError, match=r"fp32 parity check failed: astronaut: max abs error .* vs the "
                                                   r"float64 model > 4 x PyTorch float32's"):
        official.check(bug(official.proto))


def test_a_wrong_resize_in_a_stage1_model_fails(lite):
    with pytest.raises(evaluate.ParityError, match="fp32 parity check failed"):
        lite.check(wrong_resize_mode(lite.proto))


@pytest.mark.slow
@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_exports_at_its_default_size(preset, tmp_path):
    """`edge-saliency export` of each preset at its default size (480×640; the headline model takes many
    minutes) with realistic BatchNorm statistics: the fp32 file is written and its gate passed."""
    torch.manual_seed(0)
    model = create_model(preset)
    realistic_batchnorm(model, model.config.input_size)
    weights = str(tmp_path / "model.safetensors")
    save_model(model, weights)
    result = api.export_model(weights, str(tmp_path / "model.onnx"))
    info = api.read_sidecar(result.files["fp32"]).info
    assert os.path.isfile(result.files["fp32"]) and info["parity"]["passed"]
    assert info["input_size"] == list(model.config.input_size) == [480, 640]
    assert info["preprocess"]["mode"] == model.config.preprocess
