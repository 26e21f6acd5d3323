import pytest
import torch

from edge_saliency.errors import UnknownNameError
from edge_saliency.models.emlnet import TappedBackbone
from edge_saliency.models.registry import get_encoder_spec, get_preset, list_encoders, list_presets


def test_registry_lists_the_required_entries():
    assert {"densenet161", "nasnetalarge", "resnet50", "efficientnet_lite0"} <= set(list_encoders())
    assert {"emlnet-densenet161-nasnetlarge", "emlnet-resnet50-official", "emlnet-lite"} <= set(list_presets())


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownNameError, match="valid encoders: densenet161"):
        get_encoder_spec("vgg16")
    with pytest.raises(UnknownNameError, match="emlnet-lite"):
        get_preset("emlnet-huge")


@pytest.mark.parametrize("name", list_encoders())
def test_taps_have_the_declared_channels_and_strides(name):
    spec = get_encoder_spec(name)
    backbone = TappedBackbone(spec).eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        taps = backbone(x)
    assert len(taps) == len(spec.channels) == len(spec.strides) == len(spec.tap_names)
    for tap, channels, stride in zip(taps, spec.channels, spec.strides):
        assert tap.shape[1] == channels
        # TF-"same" (NASNet) and odd pooling round up; both sides within one pixel of size / stride
        assert abs(tap.shape[2] - 64 / stride) < 1 and abs(tap.shape[3] - 96 / stride) < 1


@pytest.mark.parametrize("name", list_encoders())
def test_taps_are_not_modified_in_place_after_capture(name):
    # An in-place op after a tap (e.g. NASNet's final ReLU) would silently change the readout input.
    spec = get_encoder_spec(name)
    backbone = TappedBackbone(spec).eval()
    snapshots = []
    for path in spec.taps:
        backbone.model.get_submodule(path).register_forward_hook(
            lambda module, inputs, output: snapshots.append(output.clone())
        )
    with torch.no_grad():
        taps = backbone(torch.randn(1, 3, 64, 96))
    assert len(snapshots) == len(taps)
    for tap, snapshot in zip(taps, snapshots):
        assert torch.equal(tap, snapshot)


def test_list_filters_take_shell_patterns_as_timm_does():
    assert list_presets("emlnet-*") == list_presets()  # every preset is an emlnet-...
    assert list_presets("*lite*") == ["emlnet-lite"]
    assert list_presets(["*RESNET50*", "emlnet-lite"]) == ["emlnet-lite", "emlnet-resnet50-official"]  # any, any case
    assert list_encoders("dense*") == ["densenet161"] and list_encoders("nothing-*") == []
    assert list_encoders("") == list_encoders() == sorted(list_encoders())


def test_registering_a_taken_name_warns_and_replaces_it():
    from edge_saliency.models import registry

    before = dict(registry._PRESETS)
    try:
        @registry.register_preset("emlnet-lite-copy")
        def first():
            return get_preset("emlnet-lite")

        with pytest.warns(UserWarning, match="overwriting preset 'emlnet-lite-copy'.*first.*second"):
            @registry.register_preset("emlnet-lite-copy")
            def second():
                return get_preset("emlnet-resnet50-official")

        assert get_preset("emlnet-lite-copy").name == get_preset("emlnet-resnet50-official").name
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            registry.register_preset("emlnet-lite-copy")(second)  # the same function again: nothing replaced
    finally:
        registry._PRESETS.clear()
        registry._PRESETS.update(before)
