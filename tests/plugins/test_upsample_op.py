"""The numpy reference of the BilinearUpsample_TRT node vs torch.nn.functional.interpolate."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edge_saliency.plugins.upsample_op import bilinear_resize, output_size

# float32 rounding may differ from PyTorch's kernel by an ulp (operation order); inputs in [0, 1) like
# the decoder's maps, so there is no cancellation and 1e-6 absolute holds
TOL = dict(rtol=0, atol=1e-6)


@pytest.mark.parametrize("align_corners", [False, True])
def test_random_shapes_match_torch(align_corners):
    rng = np.random.default_rng(0)
    for _ in range(60):
        n, c, h, w = (int(v) for v in rng.integers(1, 4, 2).tolist() + rng.integers(1, 80, 2).tolist())
        out = tuple(int(v) for v in rng.integers(1, 160, 2))  # up, down, non-integer ratios, 1x1
        x = rng.random((n, c, h, w), dtype=np.float32)
        expected = F.interpolate(torch.from_numpy(x), size=out, mode="bilinear", align_corners=align_corners)
        torch.testing.assert_close(torch.from_numpy(bilinear_resize(x, out, align_corners)), expected, **TOL)


@pytest.mark.parametrize("scale", [2, 4, 8, 16, 32])
def test_integer_scales_equal_size_mode(scale):
    x = np.random.default_rng(scale).random((2, 1, 3, 5), dtype=np.float32)
    size = output_size((3, 5), scales=(scale, scale))
    assert size == (3 * scale, 5 * scale)
    by_scale = bilinear_resize(x, size, scales=(scale, scale))
    expected = F.interpolate(torch.from_numpy(x), scale_factor=scale, mode="bilinear", align_corners=False)
    torch.testing.assert_close(torch.from_numpy(by_scale), expected, **TOL)
    np.testing.assert_allclose(by_scale, bilinear_resize(x, size), rtol=1e-6, atol=1e-7)


def test_float16_is_computed_in_float32():
    x = np.random.default_rng(3).random((1, 2, 7, 9)).astype(np.float16)
    got = bilinear_resize(x, (20, 11))
    assert got.dtype == np.float16
    expected = F.interpolate(torch.from_numpy(x.astype(np.float32)), size=(20, 11), mode="bilinear")
    torch.testing.assert_close(torch.from_numpy(got.astype(np.float32)), expected, rtol=1e-3, atol=1e-3)


def test_output_size_rules():
    assert output_size((15, 20), output_hw=(480, 640)) == (480, 640)
    assert output_size((15, 20), scales=(32.0, 32.0)) == (480, 640)
    with pytest.raises(ValueError, match="output_height"):
        output_size((15, 20))
