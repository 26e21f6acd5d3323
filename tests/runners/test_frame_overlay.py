"""The overlay view on the device (runners/frame_overlay.py): the runners' DeviceOverlay and the Postprocessor that
uses it.

No GPU here: the overlay runs the host twin (the same per-pixel code as the CUDA kernel) through the same code path —
the TensorRT runner's over a fake CUDA whose device memory is host memory, the PyTorch runner's on the CPU — so
everything but the CUDA copies, the stream and the launch themselves runs, on real frames (vtest.avi when
opencv-doc is installed, scikit-image's photos)."""
import logging

import cv2
import numpy as np
import pytest

from edge_saliency.capture.sources import open_source
from edge_saliency.errors import InputShapeError
from edge_saliency.maths import postprocess as P
from edge_saliency.outputs.sink import Sink
from edge_saliency.pipeline.options import PipelineOptions
from edge_saliency.pipeline.pipeline import Pipeline
from edge_saliency.pipeline.stages import Postprocessor
from edge_saliency.runners.frame_overlay import ALIGN, CudaApiOverlay, TorchOverlay
from tests.plugins.test_frame_kernels import model_map, real_frames
from tests.runners.test_frame_input import HostMemoryCuda, torch_runner
from tests.runners.test_trt_runner import engine_file, make_runner
from tests.stream_fixtures import FakeRunner

CASES = [(0.5, "jet"), (0.3, "turbo")]


@pytest.fixture(scope="module")
def frames():
    return real_frames()


def overlays(kind, tmp_path, kernels):
    """(DeviceOverlay, the fake CUDA or None, the runner to deactivate) of the runner of ``kind``."""
    if kind == "tensorrt":
        cuda = HostMemoryCuda()
        runner, _ = make_runner(engine_file(tmp_path), cuda, frame_kernels=kernels)
    else:
        cuda, runner = None, torch_runner(kernels)
    runner.activate()
    overlay = runner.frame_overlay()
    assert overlay is runner.frame_overlay()  # one per runner
    assert isinstance(overlay, CudaApiOverlay if kind == "tensorrt" else TorchOverlay)
    return overlay, cuda, runner


def host_overlay(frame, saliency, alpha, colormap):
    return P.overlay_small(frame, P.to_uint8(saliency), alpha, colormap)


@pytest.mark.parametrize("kind", ["tensorrt", "torch"])
@pytest.mark.parametrize("frame_size", [(480, 640), (720, 1280)])
def test_the_device_overlay_is_the_host_overlay_within_one_grey_level(tmp_path, host_kernels, frames, kind,
                                                                      frame_size):
    """The map as the Postprocessor hands it (blurred, min-max scaled at the model's resolution); also a map that
    was not min-max scaled (values outside [0, 1]: both clip) and a letterbox crop (a strided view)."""
    overlay, _, runner = overlays(kind, tmp_path, host_kernels)
    try:
        for frame in frames:
            frame = cv2.resize(frame, frame_size[::-1])
            raw = model_map(frame)
            maps = [P.minmax(P.blur(raw, 5.0)), raw * 3.0 - 0.5, P.minmax(raw)[20:230, 8:312]]
            for saliency in maps:
                for alpha, colormap in CASES:
                    out = np.empty_like(frame)
                    got = overlay(frame, saliency, alpha, colormap, out=out)
                    want = host_overlay(frame, saliency, alpha, colormap)
                    assert got is out and np.abs(got.astype(int) - want).max() <= 1
                    assert np.abs(got.astype(int) - frame).max() > 20  # the colours are there
    finally:
        runner.deactivate()


def test_the_tensorrt_overlay_keeps_its_buffers_grows_them_once_and_uploads_each_table_once(tmp_path, host_kernels,
                                                                                             frames):
    small, large = (cv2.resize(frames[-1], (320, 240)), cv2.resize(frames[-1], (640, 480)))
    saliency = P.minmax(model_map(small, (64, 96)))
    overlay, cuda, runner = overlays("tensorrt", tmp_path, host_kernels)
    start = len(cuda.calls)
    try:
        overlay(small, saliency, 0.5, "jet")
        first = cuda.calls[start:]
        luts = [c for c in first if c[0] == "host_empty" and c[1] == (768,)]
        inputs = [c for c in first if c[0] == "host_empty" and c[1] != (768,)]
        at = -(-small.nbytes // ALIGN) * ALIGN
        assert len(luts) == 1 and inputs == [("host_empty", (at + saliency.nbytes,), "uint8")]
        assert [c[0] for c in first].count("stream_create") == 1
        # one upload of the table, one of frame and map together, one download of the overlay, one synchronize
        assert [c[0] for c in first if c[0] in ("htod", "dtoh", "sync")] == ["htod", "htod", "dtoh", "sync"]
        assert [c[2] for c in first if c[0] in ("htod", "dtoh")] == [768, at + saliency.nbytes, small.nbytes]
        for colormap in ("jet", "jet", "turbo", "turbo", "jet"):
            overlay(small, saliency, 0.5, colormap)
        again = cuda.calls[start + len(first):]
        assert not {"host_empty", "device_alloc", "stream_create"} & {c[0] for c in again}
        assert [c[2] for c in again if c[0] == "htod"].count(768) == 2  # turbo, then jet again
        assert overlay.lut_uploads == 3
        mark = len(cuda.calls)
        out = overlay(large, saliency, 0.5, "jet")  # a larger frame: the input buffer grows, once
        np.testing.assert_array_less(np.abs(out.astype(int) - host_overlay(large, saliency, 0.5, "jet")), 2)
        overlay(large, saliency, 0.5, "jet")
        overlay(small, saliency, 0.5, "jet")
        grown = [c[0] for c in cuda.calls[mark:]]
        assert grown.count("device_alloc") == 1 and grown.count("device_free") == 1 and grown.count("host_free") == 1
        assert grown.index("sync") < grown.index("device_free")  # nothing still reads the old buffer
    finally:
        runner.deactivate()
    names = cuda.names()
    assert cuda.memory == {} and names.count("stream_destroy") == 2  # the runner's stream and the overlay's
    assert runner.frame_overlay() is None


def test_the_torch_overlay_keeps_its_buffers_and_grows_them_once(host_kernels, frames):
    small, large = (cv2.resize(frames[0], (320, 240)), cv2.resize(frames[0], (640, 480)))
    saliency = P.minmax(model_map(small, (64, 96)))
    with torch_runner(host_kernels) as runner:
        overlay = runner.frame_overlay()
        overlay(small, saliency, 0.5, "jet")
        staging, lut = overlay.buffers["in"][0], overlay.buffers["lut"][0]
        overlay(small, saliency, 0.4, "jet")
        assert overlay.buffers["in"][0] is staging and overlay.lut_uploads == 1
        overlay(large, saliency, 0.4, "turbo")
        grown = overlay.buffers["in"][0]
        assert grown is not staging and grown.numel() >= large.nbytes + saliency.nbytes
        overlay(small, saliency, 0.4, "turbo")
        assert overlay.buffers["in"][0] is grown and overlay.buffers["lut"][0] is lut and overlay.lut_uploads == 2
    assert overlay.buffers == {} and runner.frame_overlay() is None


def test_the_overlay_checks_its_arguments(host_kernels, frames):
    frame = cv2.resize(frames[0], (160, 120))
    with torch_runner(host_kernels) as runner:
        overlay = runner.frame_overlay()
        saliency = np.zeros((32, 48), np.float32)
        with pytest.raises(InputShapeError, match="H×W×3 uint8"):
            overlay(frame[:, :, 0], saliency, 0.5, "jet")
        with pytest.raises(InputShapeError, match="2-D map"):
            overlay(frame, saliency[None], 0.5, "jet")
        with pytest.raises(InputShapeError, match="contiguous"):
            overlay(frame, saliency, 0.5, "jet", out=np.empty((120, 320, 3), np.uint8)[:, ::2])


def test_runners_without_frame_kernels_have_no_device_overlay(tmp_path, host_kernels):
    runner = FakeRunner(size=(32, 48))
    assert runner.activate().frame_overlay() is None
    runner.deactivate()
    with torch_runner("off") as plain:
        assert plain.frame_overlay() is None
    trt, _ = make_runner(engine_file(tmp_path), HostMemoryCuda(), frame_kernels="off")
    with trt:
        assert trt.frame_overlay() is None
    assert torch_runner(host_kernels).frame_overlay() is None  # not active


# -- the pipeline: the overlay view from the runner, everything else as before ------------------------------------


class OverlaySink(Sink):
    views = ("overlay",)

    def __init__(self):
        self.seen = []

    def write(self, packet):
        self.seen.append((packet.frame.copy(), packet.views["overlay"].copy(), packet.saliency.copy(),
                          packet.stats))


def run_overlay(runner, clip, device, **options):
    calls = []
    overlay = runner.frame_overlay() if device else None
    if overlay is not None:
        runner.frame_overlay = lambda: (lambda *a, **k: calls.append(a[2:4]) or overlay(*a, **k))
    else:
        runner.frame_overlay = lambda: None
    sink = OverlaySink()
    with open_source(clip) as source:
        Pipeline([source], runner, [sink], PipelineOptions(max_frames=6, **options)).run()
    del runner.frame_overlay
    return sink.seen, calls


@pytest.mark.parametrize("options", [dict(size=(64, 96), alpha=0.5, colormap="jet", letterbox=True),
                                     dict(size=(128, 160), alpha=0.35, colormap="turbo", smooth=0.5)])
def test_the_pipeline_takes_the_overlay_from_the_runner_and_keeps_the_rest(host_kernels, clip, caplog, options):
    with torch_runner(host_kernels) as runner:
        with caplog.at_level(logging.INFO, logger="edge_saliency"):
            seen, calls = run_overlay(runner, clip, True, **options)
        host, none = run_overlay(runner, clip, False, **options)
    assert calls == [(options["alpha"], options["colormap"])] * 6 and none == []
    assert any("overlay view on the GPU" in r.getMessage() for r in caplog.records)
    assert len(seen) == len(host) == 6
    for (frame, view, saliency, stats), (host_frame, host_view, host_saliency, host_stats) in zip(seen, host):
        assert np.array_equal(frame, host_frame)
        assert np.array_equal(saliency, host_saliency) and stats == host_stats  # the maps and statistics as before
        assert np.abs(view.astype(int) - host_view).max() <= 1
        assert np.array_equal(host_view, host_overlay(frame, saliency, options["alpha"], options["colormap"]))


def test_the_postprocessor_blends_on_the_host_without_a_device_overlay(frames):
    """Without an overlay callable (every runner but those with the kernels) the view is overlay_small's."""
    from edge_saliency.pipeline.frames import Geometry
    from edge_saliency.pipeline.packet import Packet

    frame = cv2.resize(frames[0], (160, 120))
    raw = model_map(frame, (64, 96))
    post = Postprocessor(PipelineOptions(blur_sigma=0.0), ["overlay"])
    packet = Packet(0, 0, 0.0, None, frame, 0.0, 0.0)
    packet.raw, packet.geometry = raw, Geometry.fit(frame.shape[:2], (64, 96), False)
    post(packet)
    assert np.array_equal(packet.views["overlay"], host_overlay(frame, P.minmax(raw), 0.5, "jet"))
