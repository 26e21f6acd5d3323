"""runtime.memory: the lower-bound estimate (checked against the encoder registry's numbers, computed by hand
here), what the process can get, and allocation errors of each backend as one line."""
import pytest

from edge_saliency.models.registry import get_preset
from edge_saliency.pipeline import memory
from edge_saliency.pipeline.memory import OutOfMemoryError


def test_model_bytes_per_pixel_of_emlnet_lite():
    # efficientnet_lite0 taps (channels / stride): 16/2, 24/4, 40/8, 112/16, 320/32 -> largest 16 / 4 = 4 floats
    assert memory.model_bytes_per_pixel(get_preset("emlnet-lite")) == pytest.approx(4.0 * (3 + 4.0 + 1))
    # densenet161's relu0 (96 / 2²) = 24 floats per pixel outweighs NASNet's x_stem_1 (336 / 8² = 5.25)
    assert memory.model_bytes_per_pixel(get_preset("emlnet-densenet161-nasnetlarge")) == pytest.approx(4.0 * 28)


def test_needed_bytes_scale_with_pixels_and_batch():
    one = memory.needed_bytes((256, 320), 1, 32.0)
    assert one == 256 * 320 * (memory.PIPELINE_BYTES_PER_PIXEL + 32)
    assert memory.needed_bytes((512, 640), 2, 32.0) == 8 * one


def test_check_memory_refuses_what_cannot_fit():
    memory.check_memory((480, 640), 1, "m.onnx", 32.0, available=1 << 30)
    with pytest.raises(OutOfMemoryError, match="input 100000x100000 \\(batch 2\\) needs at least 1024.5 GiB for "
                                               "m.onnx, and this process can get 1.0 GiB .*smaller --size \\(m.onnx "
                                               "was made for 64x96\\)"):
        memory.check_memory((100000, 100000), 2, "m.onnx", 32.0, made_for=(64, 96), available=1 << 30)


def test_available_bytes_is_known_on_linux():
    import sys

    room = memory.available_bytes()
    if sys.platform.startswith("linux"):
        assert room is not None and room > 0


class FakeOrtError(Exception):
    pass


@pytest.mark.parametrize("error, detail", [
    (MemoryError("Unable to allocate 30.0 GiB for an array with shape (3, 100000, 100000)"), "MemoryError"),
    (RuntimeError("OpenCV(5.0.0) alloc.cpp:73: error: (-4:Insufficient memory) Failed to allocate 30000000000 "
                  "bytes in function 'OutOfMemoryError'"), "Insufficient memory\\) Failed to allocate"),
    (FakeOrtError("[ONNXRuntimeError] : 1 : FAIL : Non-zero status code returned while running Conv node. Name:'x' "
                  "Status Message: bfc_arena.cc:360 Failed to allocate memory for requested buffer of size 905969664"),
     "Failed to allocate memory for requested buffer of size 905969664"),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried "
                  "to allocate 96000000000 bytes."), "can't allocate memory"),
])
def test_allocation_errors_become_one_line(error, detail):
    explained = memory.explain(error, (8192, 8192), 1, "lite.onnx", (64, 96))
    assert isinstance(explained, OutOfMemoryError)
    text = str(explained)
    assert "\n" not in text and text.startswith("not enough memory to run lite.onnx at 8192x8192 (batch 1): ")
    assert text.endswith("use a smaller --size (lite.onnx was made for 64x96) or --batch")
    import re

    assert re.search(detail, text), text


def test_other_errors_pass_through():
    error = ValueError("shape mismatch")
    assert memory.explain(error, (64, 96), 1, "m") is error
    user = OutOfMemoryError("already explained")
    assert memory.explain(user, (64, 96), 1, "m") is user
