"""The host library (the CUDA kernels' per-pixel function, run on the CPU) vs torch.nn.functional.interpolate and
the numpy contract reference; the CUDA library and the TensorRT plugin as far as a CPU machine can check them."""
import ctypes

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edge_saliency.errors import InputShapeError
from edge_saliency.plugins.build import run_ctest
from edge_saliency.plugins.kernels import ResizeLibrary, resize, resize_concat
from edge_saliency.plugins.upsample_op import bilinear_resize, output_size

# float32: PyTorch's CPU kernel rounds a few ulp differently (weights, FMA); inputs in [0, 1), so 1e-6 absolute.
FP32 = dict(rtol=0, atol=1e-6)
# float16: both round one float32 value once; one fp16 ulp at values < 1 is <= 2**-11
FP16 = dict(rtol=0, atol=2.0**-11)


def _torch(x, size=None, align_corners=False, scales=None):
    t = torch.from_numpy(x.astype(np.float32))
    if scales:
        out = F.interpolate(t, scale_factor=tuple(scales), mode="bilinear", align_corners=align_corners,
                            recompute_scale_factor=False)
    else:
        out = F.interpolate(t, size=tuple(size), mode="bilinear", align_corners=align_corners)
    return out.numpy().astype(x.dtype)


def _random_cases(seed, count):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n, c = (int(v) for v in rng.integers(1, 4, 2))
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        size = tuple(int(v) for v in rng.integers(1, 90, 2))  # up, down, non-integer ratios
        yield rng.random((n, c, h, w), dtype=np.float32), size


def test_ctest_host_tests_pass(plugin_build):
    assert "100% tests passed" in run_ctest(plugin_build.build_dir)


@pytest.mark.parametrize("align_corners", [False, True])
def test_float32_matches_torch_and_the_contract(host_library, align_corners):
    worst = 0.0
    for x, size in _random_cases(1 + align_corners, 150):
        got = resize(x, size, align_corners, library=host_library)
        expected = _torch(x, size, align_corners)
        np.testing.assert_allclose(got, expected, **FP32)
        worst = max(worst, float(np.abs(got - expected).max()))
        # the numpy contract rounds the source coordinate twice (no fused multiply-add): within ~1 ulp of it
        np.testing.assert_allclose(got, bilinear_resize(x, size, align_corners), rtol=0, atol=4e-6)
    print("max |host - torch| float32, align_corners={}: {:.3g}".format(align_corners, worst))


@pytest.mark.parametrize("shape,size", [
    ((1, 1, 1, 1), (5, 7)), ((2, 3, 5, 7), (1, 1)), ((1, 2, 9, 9), (9, 9)), ((1, 1, 7, 5), (13, 3)),
    ((1, 1, 1, 6), (4, 11)), ((1, 1, 15, 20), (480, 640)), ((1, 1, 60, 80), (15, 20)),
])
@pytest.mark.parametrize("align_corners", [False, True])
def test_edge_sizes(host_library, shape, size, align_corners):
    x = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    got = resize(x, size, align_corners, library=host_library)
    np.testing.assert_allclose(got, _torch(x, size, align_corners), **FP32)
    if shape[2:] == size and not align_corners:
        np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize("scales", [(2.0, 2.0), (32.0, 32.0), (1.5, 2.5), (0.5, 0.75), (3.3, 0.4)])
def test_scale_form_matches_torch_scale_factor(host_library, scales):
    x = np.random.default_rng(5).random((2, 2, 11, 9), dtype=np.float32)
    size = output_size(x.shape[2:], scales=scales)
    assert host_library.output_size(x.shape[2:], scales=scales) == size
    got = resize(x, size, scales=scales, library=host_library)
    expected = _torch(x, scales=scales)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **FP32)


def test_output_size_rule_matches_the_contract(host_library):
    for hw, out, scales in [((15, 20), (480, 640), (0, 0)), ((15, 20), (0, 0), (32, 32)), ((7, 9), (0, 0), (1.5, 0.5))]:
        assert host_library.output_size(hw, out, scales) == output_size(hw, out, scales)


@pytest.mark.parametrize("align_corners", [False, True])
def test_float16_is_computed_in_float32(host_library, align_corners):
    for x, size in _random_cases(10 + align_corners, 60):
        x16 = x.astype(np.float16)
        got = resize(x16, size, align_corners, library=host_library)
        assert got.dtype == np.float16
        np.testing.assert_allclose(got.astype(np.float32), _torch(x16, size, align_corners).astype(np.float32), **FP16)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("align_corners", [False, True])
def test_fused_resize_concat_equals_separate_resizes(host_library, dtype, align_corners):
    rng = np.random.default_rng(3)
    batch, size = 2, (48, 64)
    maps = [rng.random((batch, 1, h, w), dtype=np.float32).astype(dtype)
            for h, w in [(3, 4), (6, 8), (12, 16), (24, 32), (48, 64), (5, 7)]]
    fused = resize_concat(maps, size, align_corners, library=host_library)
    separate = np.concatenate([resize(m, size, align_corners, library=host_library) for m in maps], axis=1)
    np.testing.assert_array_equal(fused, separate)
    expected = torch.cat([torch.from_numpy(_torch(m, size, align_corners)) for m in maps], dim=1).numpy()
    np.testing.assert_allclose(fused.astype(np.float32), expected.astype(np.float32),
                               **(FP32 if dtype == np.float32 else FP16))


def test_bad_inputs_are_user_errors(host_library):
    with pytest.raises(InputShapeError, match="float32 or float16"):
        resize(np.zeros((1, 1, 2, 2), np.float64), (4, 4), library=host_library)
    with pytest.raises(InputShapeError, match="N×C×H×W"):
        resize(np.zeros((2, 2), np.float32), (4, 4), library=host_library)
    with pytest.raises(InputShapeError, match="1 to 32 maps"):
        resize_concat([np.zeros((1, 1, 2, 2), np.float32)] * 33, (4, 4), library=host_library)


def test_cuda_library_is_compiled(plugin_build):
    if "cuda" not in plugin_build.built:
        pytest.skip("CUDA library: skipped ({})".format(plugin_build.skipped.get("cuda")))
    # loading needs no GPU (only libcudart); argument checks run before any CUDA call
    cuda = ResizeLibrary("cuda", path=plugin_build.built["cuda"])
    with pytest.raises(RuntimeError, match="NULL"):
        cuda.resize_ptr(0, 0, 0, (1, 1, 2, 2), (4, 4))
    assert cuda.lib.es_cuda_abi_version() == 1
    status = cuda.lib.es_cuda_status_string
    status.restype = ctypes.c_char_p
    assert b"ES_MAX_FUSED_MAPS" in status(-4)


def test_tensorrt_plugin(plugin_build):
    if "tensorrt" in plugin_build.skipped:
        reason = plugin_build.skipped["tensorrt"]
        # one clear line from CMake, and a build that went on without it
        assert "\n" not in reason and ("TensorRT" in reason or "libnvinfer" in reason or "CUDA" in reason)
        assert "host" in plugin_build.built
        pytest.skip("TensorRT plugin: skipped ({})".format(reason))
    # built against the TensorRT found: it exports the entry points TensorRT loads a plugin library through, and
    # the CTest run above drove it (tests/plugins/test_tensorrt_headers.py does so for every header version)
    from tests.plugins.nvinfer_stub import dynamic_symbols

    exported = set(dynamic_symbols(plugin_build.built["tensorrt"], undefined=False))
    assert exported & {"getCreators", "getPluginCreators"}
    assert not [name for name in exported if name.startswith("es_cuda_")]
