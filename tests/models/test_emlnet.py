import pytest
import torch
import torch.nn.functional as F

from edge_saliency.config import ModelConfig
from edge_saliency.errors import InputShapeError, UserError
from edge_saliency.models import create_model, resize_override
from edge_saliency.models.registry import encoder_config, list_encoders, list_presets

SMALL = (64, 96)


def _forward(model, size=SMALL, batch=2):
    torch.manual_seed(0)
    with torch.no_grad():
        return model(torch.rand(batch, 3, *size))


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_runs_and_outputs_a_saliency_map(preset):
    model = create_model(preset)
    y = _forward(model)
    expected = model.config.decoder.output_size if model.config.decoder and model.config.decoder.output_size else SMALL
    assert tuple(y.shape) == (2, 1, *expected)
    assert torch.isfinite(y).all()
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


@pytest.mark.parametrize("encoder", list_encoders())
def test_every_encoder_is_a_stand_alone_saliency_model(encoder):
    config = ModelConfig(name="stage1-" + encoder, encoders=[encoder_config(encoder)], decoder=None)
    y = _forward(create_model(config), batch=1)
    assert tuple(y.shape) == (1, 1, *SMALL)
    assert torch.isfinite(y).all() and float(y.min()) >= 0 and float(y.max()) <= 1


def test_fused_output_follows_the_input_size():
    model = create_model("emlnet-lite")
    assert tuple(_forward(model, size=(96, 128), batch=1).shape) == (1, 1, 96, 128)


def test_fixed_decoder_output_size_reproduces_the_official_layout():
    model = create_model("emlnet-resnet50-official")
    assert tuple(_forward(model, size=(64, 64), batch=1).shape) == (1, 1, 480, 640)


@pytest.mark.parametrize("shape", [(1, 3, 100, 96), (1, 3, 64, 70)])
def test_sizes_that_are_not_multiples_of_32_are_rejected(shape):
    model = create_model("emlnet-lite")
    with pytest.raises(InputShapeError, match="not a multiple of 32"):
        model(torch.rand(*shape))


def test_wrong_channel_count_is_rejected():
    with pytest.raises(InputShapeError, match="N×3×H×W"):
        create_model("emlnet-lite")(torch.rand(1, 1, 64, 64))


def test_every_upsample_goes_through_the_one_resize_function():
    calls = []

    def spy(x, size, mode, align_corners):
        calls.append((tuple(x.shape[-2:]), tuple(size), mode, align_corners))
        if mode == "nearest":
            return F.interpolate(x, size=size, mode="nearest")
        return F.interpolate(x, size=size, mode=mode, align_corners=align_corners)

    model = create_model("emlnet-densenet161-nasnetlarge")
    with torch.no_grad():
        reference = model(torch.ones(1, 3, *SMALL))
        with resize_override(spy):
            spied = model(torch.ones(1, 3, *SMALL))
    torch.testing.assert_close(spied, reference, rtol=0, atol=0)
    # 9 readout maps (5 DenseNet + 4 NASNet), none at the output size: 9 bilinear resizes in the decoder
    assert len(calls) == 9
    assert all(mode == "bilinear" and size == SMALL for _, size, mode, _ in calls)


def test_decoder_resize_mode_is_a_config_value():
    bilinear = create_model("emlnet-lite")
    nearest = create_model("emlnet-lite", encoders=[encoder_config("efficientnet_lite0", resize_mode="nearest")])
    nearest.load_state_dict(bilinear.state_dict())
    assert not torch.allclose(_forward(bilinear, batch=1), _forward(nearest, batch=1))


def test_bad_override_is_a_user_error():
    with pytest.raises(UserError, match="override"):
        create_model("emlnet-lite", no_such_field=1)
    with pytest.raises(UserError, match="no decoder"):
        create_model("emlnet-lite", decoder={"resize_mode": "nearest"})
