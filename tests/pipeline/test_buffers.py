"""FramePool: buffers come back only once nothing outside the pool holds them."""
import gc

import numpy as np
import pytest

from edge_saliency.pipeline.buffers import FramePool


def test_a_released_buffer_is_handed_out_again():
    pool = FramePool()
    first = pool.take((4, 6, 3))
    address = first.ctypes.data
    del first
    again = pool.take((4, 6, 3))
    assert again.ctypes.data == address and pool.allocated == 1


def test_a_held_buffer_is_never_handed_out_twice():
    pool = FramePool()
    held = [pool.take((4, 6, 3)) for _ in range(5)]
    assert len({b.ctypes.data for b in held}) == 5 and pool.allocated == 5
    view = held[2][1:, ::-1]  # a view keeps its base alive: still in use
    del held[2]
    fresh = pool.take((4, 6, 3))
    assert not np.shares_memory(fresh, view)
    del view
    gc.collect()
    assert pool.take((4, 6, 3)) is not None and pool.allocated == 6


def test_shapes_are_kept_apart_and_the_limit_holds():
    pool = FramePool(limit=2)
    a, b = pool.take((2, 2)), pool.take((2, 3))
    assert a.shape == (2, 2) and b.shape == (2, 3) and a.dtype == np.uint8
    extra = [pool.take((2, 2)) for _ in range(3)]  # a consumer holding many: past the limit, not kept
    del extra
    assert len(pool._buffers[(2, 2)]) == 2


def postprocessed(post, rng, index):
    """A packet of a random 60×80 frame and 32×64 raw map through ``post``."""
    from edge_saliency.pipeline.frames import prepare_frame
    from edge_saliency.pipeline.packet import Packet

    frame = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    packet = Packet(0, index, 0.0, "f", frame, 0.0, 0.0)
    packet.raw = rng.random((32, 64)).astype(np.float32)
    packet.geometry = prepare_frame(frame, (32, 64), "opencv-linear")[1]
    return post(packet)


def test_the_postprocessor_reuses_its_views_once_the_sinks_let_go():
    pytest.importorskip("cv2")
    from edge_saliency.maths.postprocess import overlay_small, to_uint8
    from edge_saliency.pipeline.options import PipelineOptions
    from edge_saliency.pipeline.stages import Postprocessor

    rng = np.random.default_rng(0)
    options = PipelineOptions(blur_sigma=0.0, minmax=False)
    post = Postprocessor(options, ["overlay", "side-by-side"], full_map=True)
    held = None
    for i in range(6):
        packet = postprocessed(post, rng, i)
        frame = packet.frame
        expected = overlay_small(frame, to_uint8(packet.saliency), options.alpha, options.colormap)
        np.testing.assert_array_equal(packet.views["overlay"], expected)
        if i == 1:  # a sink keeping this packet (the HTTP server's latest image): its buffers are not reused
            held, held_overlay = packet, expected
        del packet, frame  # written by the sinks and let go
    # three kinds of buffer (overlay, side-by-side, map): one in flight and one held each, not one per frame
    assert post._pool.allocated == 3 * 2
    np.testing.assert_array_equal(held.views["overlay"], held_overlay)


def test_the_side_by_side_view_shares_the_work_buffer_and_stays_right():
    pytest.importorskip("cv2")
    from edge_saliency.maths.postprocess import heatmap, to_uint8
    from edge_saliency.pipeline.options import PipelineOptions
    from edge_saliency.pipeline.stages import Postprocessor

    rng = np.random.default_rng(1)
    post = Postprocessor(PipelineOptions(), ["side-by-side", "overlay"])
    views = []
    for i in range(3):
        packet = postprocessed(post, rng, i)
        frame = packet.frame
        expected = np.concatenate([frame, heatmap(to_uint8(packet.saliency), (60, 80), "jet")], axis=1)
        views.append((packet.views["side-by-side"], expected))  # all held: later frames must not change them
    for view, expected in views:
        np.testing.assert_array_equal(view, expected)
