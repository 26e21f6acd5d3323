"""A soak run: thousands of small frames through the whole pipeline (ONNX Runtime, video + JSON lines)
must not grow the process's memory beyond a small bound."""
import sys

import pytest

from edge_saliency.outputs.jsonl import JsonLinesSink
from edge_saliency.outputs.video import VideoSink
from edge_saliency.pipeline.options import PipelineOptions
from edge_saliency.pipeline.pipeline import Pipeline
from edge_saliency.runners import create_runner
from tests.stream_fixtures import ArraySource, tiny_conv_onnx

FRAMES = 3000
WARM = 500
BOUND_MIB = 12.0


def rss_mib():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_thousands_of_frames_do_not_grow_memory(tmp_path):
    model = tiny_conv_onnx(tmp_path / "tiny.onnx", size=(32, 32))
    samples = {}

    def measure(packet):
        if packet.index in (WARM, FRAMES - 1):
            samples[packet.index] = rss_mib()

    with create_runner(model, device="cpu", threads=1) as runner:
        summary = Pipeline([ArraySource(FRAMES, size=(36, 48))], runner,
                           [VideoSink(str(tmp_path / "soak.mp4")), JsonLinesSink(str(tmp_path / "soak.jsonl"))],
                           PipelineOptions()).run(on_frame=measure)
    assert summary.frames == FRAMES
    growth = samples[FRAMES - 1] - samples[WARM]
    print("RSS after {} frames {:.1f} MiB, after {} frames {:.1f} MiB (+{:.2f} MiB)".format(
        WARM, samples[WARM], FRAMES, samples[FRAMES - 1], growth))
    assert growth < BOUND_MIB
