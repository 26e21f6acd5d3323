"""The frame kernels' host twins (edge_saliency.plugins.frame_kernels) against the CPU path and independent references,
on real frames. The CUDA kernels run the same per-pixel code (frame_ops.h); here they are compiled, not run."""
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from edge_saliency.maths import postprocess as P
from edge_saliency.maths import preprocess as PRE
from edge_saliency.plugins import frame_kernels as F
from edge_saliency.plugins.kernels import KernelError

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


@pytest.fixture(scope="module")
def lib(plugin_build):
    return F.FrameLibrary("host", path=plugin_build.built["host"])


def real_frames():
    frames = []
    capture = cv2.VideoCapture(VTEST)
    ok, frame = capture.read()
    if ok:
        frames.append(frame)
    from skimage import data

    frames += [cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)]
    return frames


def linear_matrix(n_in, n_out):
    """OpenCV INTER_LINEAR as a matrix: positions (i + 0.5) * in / out - 0.5 in double rounded to float (as
    cv::resize), floor, both edges clamped; the interpolation itself in float64."""
    m = np.zeros((n_out, n_in))
    src = ((np.arange(n_out) + 0.5) * (1.0 / (n_out / n_in)) - 0.5).astype(np.float32)
    lo = np.floor(src).astype(int)
    w = (src - lo.astype(np.float32)).astype(np.float64)
    w[lo < 0], lo[lo < 0] = 0.0, 0
    edge = lo >= n_in - 1
    w[edge], lo[edge] = 0.0, n_in - 1
    np.add.at(m, (np.arange(n_out), lo), 1.0 - w)
    np.add.at(m, (np.arange(n_out), np.minimum(lo + 1, n_in - 1)), w)
    return m


def reference_input(frame, size):
    my, mx = linear_matrix(frame.shape[0], size[0]), linear_matrix(frame.shape[1], size[1])
    rgb = frame[:, :, ::-1].astype(np.float64) / 255.0
    return np.stack([my @ rgb[:, :, c] @ mx.T for c in range(3)])[None]


@pytest.mark.parametrize("size", [(256, 320), (480, 640), (96, 128), (720, 1280)])
def test_preprocessing_twin_matches_the_linear_resize_within_1e5(lib, size):
    """float32 within 1e-5 of OpenCV INTER_LINEAR's definition computed in float64; within 1e-5 + 3e-5 of cv2.resize
    on the float frame (pip OpenCV's IPP code rounds its positions differently); within 1/255 of the runtime's
    uint8 path (OpenCV resizes uint8 in 11-bit fixed point and rounds); float16 within its half ulp at 1."""
    for frame in real_frames():
        x = F.preprocess(frame, size, library=lib)
        assert x.shape == (1, 3) + size and x.dtype == np.float32
        assert np.abs(x - reference_input(frame, size)).max() <= 1e-5
        float_path = PRE.preprocess(frame.astype(np.float32) / 255, size, "opencv-linear", bgr=True)
        assert np.abs(x - float_path).max() <= 4e-5
        uint8_path = PRE.preprocess(frame, size, "opencv-linear", bgr=True)
        assert np.abs(x - uint8_path).max() <= 1.0 / 255
        half = F.preprocess(frame, size, np.float16, library=lib)
        assert half.dtype == np.float16 and np.abs(half.astype(np.float32) - x).max() <= 2.0 ** -12


def test_letterbox_box_and_padding(lib):
    frame = real_frames()[0]
    box = PRE.content_box(frame.shape[:2], (256, 320), letterbox=True)
    x = F.preprocess(frame, (256, 320), box=box, pad=0.5, library=lib)
    top, left, h, w = box
    inner = x[:, :, top:top + h, left:left + w]
    assert np.abs(inner - reference_input(frame, (h, w))).max() <= 1e-5
    outside = np.ones((256, 320), bool)
    outside[top:top + h, left:left + w] = False
    assert outside.any() and np.all(x[0][:, outside] == 0.5)


def model_map(frame, size=(256, 320)):
    small = cv2.resize(frame, size[::-1], interpolation=cv2.INTER_AREA)
    ok, saliency = cv2.saliency.StaticSaliencySpectralResidual_create().computeSaliency(small)
    return cv2.resize(saliency.astype(np.float32), size[::-1])


def test_blur_and_range_twins_match_the_runtime(lib):
    for frame in real_frames():
        raw = model_map(frame)
        blurred = F.blur(raw, 5.0, library=lib)
        assert np.abs(blurred - P.blur(raw, 5.0)).max() <= 1e-5
        half = F.blur(raw.astype(np.float16), 5.0, library=lib)
        assert np.abs(half - P.blur(raw.astype(np.float16).astype(np.float32), 5.0)).max() <= 1e-5
        crop = raw[10:200, 20:300]  # a letterbox crop: a pointer and a row stride, no copy
        assert np.abs(F.blur(crop, 5.0, library=lib) - P.blur(np.ascontiguousarray(crop), 5.0)).max() <= 1e-5
        assert F.value_range(blurred, library=lib) == (float(blurred.min()), float(blurred.max()))


@pytest.mark.parametrize("frame_size", [(480, 640), (720, 1280), (1080, 1920)])
def test_overlay_twin_within_one_grey_level_of_the_cpu_path(lib, frame_size):
    for frame in real_frames():
        frame = cv2.resize(frame, frame_size[::-1])
        blurred = P.blur(model_map(frame), 5.0)
        for alpha, colormap in ((0.5, "jet"), (0.3, "turbo")):
            cpu = P.overlay_small(frame, P.to_uint8(P.minmax(blurred)), alpha, colormap)
            twin = F.overlay(frame, blurred, alpha, colormap, library=lib)
            assert twin.shape == frame.shape and np.abs(twin.astype(int) - cpu).max() <= 1
    # alpha 0 is the frame; a constant map is colour 0 of the table everywhere
    assert np.array_equal(F.overlay(frame, blurred, 0.0, library=lib), frame)
    flat = F.overlay(frame, np.full((8, 8), 3.0, np.float32), 1.0, "turbo", library=lib)
    assert np.array_equal(flat, np.broadcast_to(P.colormap_lut("turbo")[0], frame.shape))


def test_bad_arguments_are_statuses_not_crashes(lib):
    frame = real_frames()[0]
    with pytest.raises(KernelError, match="alpha"):
        F.overlay(frame, np.ones((4, 4), np.float32), 1.5, library=lib)
    with pytest.raises(KernelError, match="size is not positive"):
        F.preprocess(frame, (256, 320), box=(0, 0, 300, 320), library=lib)
    with pytest.raises(KernelError, match="taps"):
        lib.blur_ptr(frame.ctypes.data, 0, 4, 4, 4, np.ones(2, np.float32), np.ones(3, np.float32), 0, 0)
    with pytest.raises(KernelError, match="NULL"):
        lib.range_ptr(0, 4, 4, 4, 0)
    with pytest.raises(Exception, match="taps"):
        F.gaussian_taps(40.0)


def test_cuda_library_exports_the_frame_kernels(plugin_build):
    if "cuda" not in plugin_build.built:
        pytest.skip("CUDA library not built here: {}".format(plugin_build.skipped.get("cuda")))
    if shutil.which("nm") is None:
        pytest.skip("no nm")
    symbols = subprocess.run(["nm", "-D", "--defined-only", plugin_build.built["cuda"]], capture_output=True,
                             text=True).stdout
    for name in ("preprocess_bgr8", "blur_map", "map_range", "overlay_bgr8", "frame_abi_version",
                 "frame_status_string"):
        assert "es_cuda_" + name in symbols


def test_gpu_check_script_dry_run(plugin_build, tmp_path):
    """benchmarks/gpu_frame_kernels.py --dry-run: the CPU part (host twins vs torch) runs anywhere, writes nothing."""
    import os
    import sys

    script = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "benchmarks", "gpu_frame_kernels.py")
    result = subprocess.run([sys.executable, script, "--lib-dir", plugin_build.build_dir, "--dry-run",
                             "--out", str(tmp_path / "r.json")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "host twins vs torch (CPU)" in result.stdout and "GPU parity and timing skipped" in result.stdout
    assert not (tmp_path / "r.json").exists()
