import timm
import torch

from edge_saliency.models import count_macs, count_parameters, get_encoder_spec, get_preset, model_complexity


def test_macs_of_a_convolution_match_the_closed_form():
    conv = torch.nn.Conv2d(3, 8, kernel_size=3, padding=1)
    # every output value: 3 * 3 * 3 multiply-accumulates
    assert count_macs(conv, (32, 64)) == 8 * 32 * 64 * 3 * 3 * 3


def _readout_params(channels, kernel):
    return channels * kernel * kernel + 1 + 2  # conv weight + bias, BN weight + bias


def test_headline_model_parameters_add_up_from_its_parts():
    config = get_preset("emlnet-densenet161-nasnetlarge")
    params, macs = model_complexity(config)
    expected = 0
    for enc in config.encoders:
        spec = get_encoder_spec(enc.encoder)
        expected += count_parameters(timm.create_model(spec.backbone, num_classes=0))
        expected += sum(_readout_params(c, enc.readout_kernel) for c in spec.channels)
    maps = sum(len(get_encoder_spec(e.encoder).channels) for e in config.encoders)
    expected += maps * _readout_params(1, 3) + _readout_params(maps, 3)
    assert params == expected
    # the paper's ~110 GMACs at 480x640 (DenseNet-161 47 + NASNet-L 63): a sanity band, not a golden value
    assert 100e9 < macs < 120e9


def test_macs_scale_with_the_input_area():
    config = get_preset("emlnet-lite")
    _, small = model_complexity(config, (256, 320))
    _, large = model_complexity(config, (512, 640))
    assert 3.5 < large / small < 4.5
