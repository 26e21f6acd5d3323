"""The pipeline on real frames (a clip of scikit-image photos; vtest.avi when installed), live sources with a
slow backend, batching, several streams, stopping and failures."""
import json
import os
import threading
import time

import cv2
import numpy as np
import pytest
from scipy import ndimage

from edge_saliency.capture.sources import open_source
from edge_saliency.errors import UserError
from edge_saliency.outputs.jsonl import JsonLinesSink
from edge_saliency.outputs.maps import MapsSink
from edge_saliency.outputs.video import VideoSink
from edge_saliency.pipeline.options import PipelineOptions
from edge_saliency.pipeline.pipeline import Pipeline
from edge_saliency.runners import create_runner
from tests.stream_fixtures import ArraySource, FakeRunner

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
STAGE_KEYS = {"capture", "preprocess", "infer", "postprocess", "total"}


def read_video(path):
    capture = cv2.VideoCapture(str(path))
    info = (int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), capture.get(cv2.CAP_PROP_FPS),
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    decoded = 0
    while capture.read()[0]:
        decoded += 1
    return info, decoded


def read_jsonl(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_clip_through_onnxruntime_to_video_jsonl_and_maps(tmp_path, clip, lite_files):
    runner = create_runner(lite_files[1], device="cpu").activate()
    video, jsonl, maps = tmp_path / "out.mp4", tmp_path / "out.jsonl", tmp_path / "maps"
    with open_source(clip) as source:
        pipeline = Pipeline([source], runner, [VideoSink(str(video)), JsonLinesSink(str(jsonl)),
                                               MapsSink(str(maps), "npy")], PipelineOptions())
        summary = pipeline.run()
    assert summary.frames == summary.captured == 40 and summary.dropped == 0
    assert read_video(video) == ((40, 15.0, 128, 96), 40)  # same frame count, fps and size as the clip
    records = read_jsonl(jsonl)
    assert [r["frame"] for r in records] == list(range(40))
    np.testing.assert_allclose([r["timestamp"] for r in records], np.arange(40) / 15.0, atol=1e-6)
    for r in records:
        x0, y0, x1, y1 = r["bbox"]
        assert 0 <= x0 < x1 <= 128 and 0 <= y0 < y1 <= 96 and 0 <= r["peak"]["x"] < 128 and 0 <= r["mean"] <= 1
        assert STAGE_KEYS <= set(r["latency_ms"]) and r["size"] == [128, 96]
    # independent reference for a few frames: OpenCV decode, ONNX Runtime directly, scipy blur, min-max
    import onnxruntime

    session = onnxruntime.InferenceSession(lite_files[1], providers=["CPUExecutionProvider"])
    capture = cv2.VideoCapture(clip)
    for index in range(40):
        ok, frame = capture.read()
        if index not in (0, 17, 39):
            continue
        # the model's own pre-processing (emlnet-lite: opencv-area), then the official blur (edge repeated)
        rgb = cv2.resize(frame[:, :, ::-1], (96, 64), interpolation=cv2.INTER_AREA)
        x = (rgb.transpose(2, 0, 1)[None] / np.float32(255)).astype(np.float32)
        raw = session.run(None, {"image": x})[0][0, 0].astype(np.float64)
        blurred = ndimage.gaussian_filter(raw, (5 * 64 / 480, 5 * 96 / 640), mode="nearest", truncate=4.0)
        expected = (blurred - blurred.min()) / (blurred.max() - blurred.min())
        expected = cv2.resize(expected.astype(np.float32), (128, 96), interpolation=cv2.INTER_LINEAR)
        got = np.load(str(maps / "frame_{:06d}.npy".format(index)))
        np.testing.assert_allclose(got, expected, atol=2e-3)
    runner.deactivate()


def test_batches_of_four_give_the_same_maps_in_the_same_order(tmp_path, clip, lite_files):
    outputs = {}
    for batch in (1, 4):
        runner = create_runner(lite_files[1], device="cpu").activate()
        calls = []
        infer = runner.infer
        runner.infer = lambda x, infer=infer, calls=calls: calls.append(x.shape[0]) or infer(x)
        folder = tmp_path / "maps{}".format(batch)
        with open_source(clip) as source:
            summary = Pipeline([source], runner, [MapsSink(str(folder), "npy")],
                               PipelineOptions(batch=batch, max_frames=22)).run()
        runner.deactivate()
        outputs[batch] = [np.load(str(folder / "frame_{:06d}.npy".format(i))) for i in range(22)]
        assert summary.frames == 22
        if batch == 4:
            assert calls == [4, 4, 4, 4, 4, 2] and summary.batches == 6
    for one, four in zip(outputs[1], outputs[4]):
        np.testing.assert_allclose(one, four, atol=1e-5)


@pytest.mark.skipif(not os.path.isfile(VTEST), reason="opencv-doc's vtest.avi is not installed")
def test_real_video_vtest_keeps_count_size_and_fps(tmp_path):
    video, jsonl = tmp_path / "vtest.mp4", tmp_path / "vtest.jsonl"
    with create_runner(None) as runner, open_source(VTEST) as source:
        summary = Pipeline([source], runner, [VideoSink(str(video), view="side-by-side"), JsonLinesSink(str(jsonl))],
                           PipelineOptions(max_frames=120)).run()
    assert summary.frames == 120
    assert read_video(video) == ((120, 10.0, 2 * 768, 576), 120)
    assert len(read_jsonl(jsonl)) == 120


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isfile(VTEST), reason="opencv-doc's vtest.avi is not installed")
def test_real_video_vtest_whole(tmp_path):
    video = tmp_path / "vtest.mp4"
    with create_runner(None) as runner, open_source(VTEST) as source:
        summary = Pipeline([source], runner, [VideoSink(str(video))], PipelineOptions()).run()
    assert summary.frames == 795 and read_video(video) == ((795, 10.0, 768, 576), 795)


def test_a_live_source_drops_stale_frames_instead_of_queueing_them():
    runner = FakeRunner(delay=0.03).activate()
    source = ArraySource(300, live=True, period=0.002)  # 500 frames/s into a 33 frames/s backend
    seen = []
    pipeline = Pipeline([source], runner, [], PipelineOptions(queue_size=2))
    summary = pipeline.run(on_frame=lambda p: seen.append(p.index))
    assert pipeline.latest and summary.captured == 300
    assert summary.dropped > 150 and summary.frames + summary.dropped == summary.captured
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert summary.queue_high_water["capture"] == 1  # one slot per stream: the newest frame
    assert summary.busy["infer"] > 0.5  # the slow stage never waits for frames
    assert all(v <= 2 for v in summary.queue_high_water.values())


def test_files_keep_every_frame_in_order_with_a_slow_backend():
    runner = FakeRunner(delay=0.005).activate()
    seen = []
    summary = Pipeline([ArraySource(60)], runner, [], PipelineOptions(queue_size=1)).run(
        on_frame=lambda p: seen.append(p.index))
    assert seen == list(range(60)) and summary.dropped == 0
    assert all(v <= 1 for v in summary.queue_high_water.values())


def test_policy_all_on_a_live_source_keeps_every_frame():
    runner = FakeRunner(delay=0.002).activate()
    summary = Pipeline([ArraySource(40, live=True, period=0.001)], runner, [], PipelineOptions(policy="all")).run()
    assert summary.frames == 40 and summary.dropped == 0


def test_two_streams_are_batched_together_and_written_separately(tmp_path):
    runner = FakeRunner(size=(48, 64)).activate()
    jsonl = tmp_path / "both.jsonl"
    summary = Pipeline([ArraySource(10), ArraySource(14)], runner,
                       [VideoSink(str(tmp_path / "cam{stream}.mp4")), JsonLinesSink(str(jsonl))],
                       PipelineOptions(batch=2)).run()
    assert summary.frames == 24 and max(runner.calls) == 2
    assert read_video(tmp_path / "cam0.mp4")[1] == 10 and read_video(tmp_path / "cam1.mp4")[1] == 14
    records = read_jsonl(jsonl)
    for stream, count in ((0, 10), (1, 14)):
        assert [r["frame"] for r in records if r["stream"] == stream] == list(range(count))


def test_stop_finishes_the_frames_in_flight_and_the_files(tmp_path):
    runner = FakeRunner(delay=0.002).activate()
    video, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    pipeline = Pipeline([ArraySource(2000)], runner, [VideoSink(str(video)), JsonLinesSink(str(jsonl))],
                        PipelineOptions())
    summary = pipeline.run(on_frame=lambda p: p.index == 20 and pipeline.stop("interrupted"))
    assert summary.interrupted and 21 <= summary.frames < 60
    assert read_video(video)[1] == summary.frames == len(read_jsonl(jsonl))


def test_a_failing_stage_stops_everything_and_leaves_no_output(tmp_path):
    class Broken(FakeRunner):
        def _infer(self, x):
            if len(self.calls) == 5:
                raise RuntimeError("device lost")
            return super()._infer(x)

    runner = Broken().activate()
    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="device lost"):
        Pipeline([ArraySource(500)], runner, [VideoSink(str(tmp_path / "out.mp4"))], PipelineOptions()).run()
    assert time.perf_counter() - started < 30 and os.listdir(tmp_path) == []
    assert [t.name for t in threading.enumerate() if t.name in ("infer", "preprocess", "postprocess")] == []


def test_model_size_and_batch_checks(lite_files):
    with create_runner(lite_files[1], device="cpu") as runner:
        with pytest.raises(UserError, match="fixed input size 64x96; --size 128x128 differs"):
            Pipeline([ArraySource(1)], runner, [], PipelineOptions(size=(128, 128)))
    dynamic = FakeRunner()
    dynamic.input_shape = (-1, 3, -1, -1)
    dynamic.activate()
    with pytest.raises(UserError, match="give one with --size"):
        Pipeline([ArraySource(1)], dynamic, [], PipelineOptions())
    static = FakeRunner(max_batch=1, static_batch=True).activate()
    with pytest.raises(UserError, match="batches of at most 1"):
        Pipeline([ArraySource(1)], static, [], PipelineOptions(batch=4))
    with pytest.raises(UserError, match="activate the runner"):
        Pipeline([ArraySource(1)], FakeRunner(), [], PipelineOptions())


def test_letterbox_maps_cover_the_frame(tmp_path):
    runner = FakeRunner(size=(32, 32)).activate()
    jsonl = tmp_path / "lb.jsonl"
    Pipeline([ArraySource(3, size=(48, 96))], runner, [JsonLinesSink(str(jsonl))],
             PipelineOptions(letterbox=True, blur_sigma=0)).run()
    x0, y0, x1, y1 = read_jsonl(jsonl)[0]["bbox"]
    # the bright top-left [0, 0, 32, 24] of the 96×48 frame, to one model pixel (3 frame pixels): the grey
    # bars of the letterbox (8 model rows above and below) are not part of the frame
    assert (x0, y0) == (0, 0) and abs(x1 - 32) <= 3 and abs(y1 - 24) <= 3


# -- failing outputs, memory, samples ------------------------------------------------------------------------


class FailingSink(JsonLinesSink):
    """A JSON-lines sink whose disk fills after ``after`` frames (or whose finish fails)."""

    def __init__(self, path, after=None, at_finish=False):
        super().__init__(path)
        self.after, self.at_finish = after, at_finish

    def write(self, packet):
        if self.after is not None and self.records >= self.after:
            import errno

            raise self._output.error(OSError(errno.ENOSPC, "No space left on device"))
        super().write(packet)

    def finish(self, ok=True):
        super().finish(ok)
        if ok and self.at_finish:
            raise self._done[0].error("it does not read back")


def test_a_failing_sink_stops_every_stage_at_once(tmp_path):
    """The other stages block on full queues: they are aborted, not joined for 10 s each."""
    from edge_saliency.files.atomic import OutputError

    runner = FakeRunner().activate()
    started = time.perf_counter()
    with pytest.raises(OutputError, match="no space left"):
        Pipeline([ArraySource(100000)], runner, [VideoSink(str(tmp_path / "out.mp4")),
                                                 FailingSink(str(tmp_path / "out.jsonl"), after=30)],
                 PipelineOptions(queue_size=1)).run()
    assert time.perf_counter() - started < 8.0
    assert os.listdir(tmp_path) == []


def test_the_run_commits_all_outputs_or_none(tmp_path):
    from edge_saliency.files.atomic import OutputError

    (tmp_path / "out.mp4").write_bytes(b"previous video")
    runner = FakeRunner().activate()
    with pytest.raises(OutputError, match="does not read back"):
        Pipeline([ArraySource(20)], runner, [VideoSink(str(tmp_path / "out.mp4")),
                                             FailingSink(str(tmp_path / "out.jsonl"), at_finish=True)],
                 PipelineOptions()).run()
    assert sorted(os.listdir(tmp_path)) == ["out.mp4"] and (tmp_path / "out.mp4").read_bytes() == b"previous video"
    sinks = [VideoSink(str(tmp_path / "out.mp4")), JsonLinesSink(str(tmp_path / "out.jsonl"))]
    Pipeline([ArraySource(20)], runner, sinks, PipelineOptions()).run()
    assert [line for s in sinks for line in s.report()] == ["wrote {}".format(tmp_path / n)
                                                           for n in ("out.mp4", "out.jsonl")]
    assert read_video(tmp_path / "out.mp4")[1] == 20


def test_eml_net_sizes_and_memory_are_checked_before_the_run():
    from edge_saliency.models.registry import get_preset
    from edge_saliency.pipeline.memory import OutOfMemoryError

    runner = FakeRunner()
    runner.input_shape = (-1, 3, -1, -1)
    runner.activate()
    runner.model_config, runner.preferred_size = get_preset("emlnet-lite"), (64, 96)
    with pytest.raises(UserError, match="input height 250 is not a multiple of 32; use e.g. 224 or 256 \\(--size "
                                        "250x320: fake is an EML-Net model"):
        Pipeline([ArraySource(1)], runner, [], PipelineOptions(size=(250, 320)))
    with pytest.raises(OutOfMemoryError, match="input 100000x100000 .* needs at least"):
        Pipeline([ArraySource(1)], runner, [], PipelineOptions(size=(100000, 100000)))
    Pipeline([ArraySource(1)], runner, [], PipelineOptions(size=(256, 320)))


def test_allocation_failures_in_a_stage_are_one_line():
    from edge_saliency.pipeline.memory import OutOfMemoryError

    class Hungry(FakeRunner):
        def _infer(self, x):
            raise MemoryError("Unable to allocate 12.0 GiB for an array")

    runner = Hungry(size=(64, 96)).activate()
    with pytest.raises(OutOfMemoryError, match="not enough memory to run fake at 64x96 \\(batch 1\\)"):
        Pipeline([ArraySource(5)], runner, [], PipelineOptions()).run()


def test_samples_keep_the_last_n_in_fixed_memory():
    from edge_saliency.pipeline.summary import Samples, _percentiles

    samples = Samples(size=100)
    values = np.random.default_rng(0).random(250)
    for value in values[:40]:
        samples.append(value)
    assert len(samples) == 40
    np.testing.assert_allclose(_percentiles(samples)["p50_ms"], round(np.percentile(values[:40] * 1000, 50), 3))
    for value in values[40:]:
        samples.append(value)
    assert len(samples) == 100
    assert sorted(samples.values()) == sorted(values[-100:])
    np.testing.assert_allclose(_percentiles(samples)["p90_ms"], round(np.percentile(values[-100:] * 1000, 90), 3))


def test_a_summary_that_cannot_be_written_takes_the_other_outputs_with_it(tmp_path):
    import errno

    from edge_saliency.files.atomic import OutputError
    from edge_saliency.outputs.summary import SummarySink

    class FullDisk(SummarySink):
        def summarize(self, summary):
            raise OutputError("cannot write summary file: no space left on the device", errno.ENOSPC)

    (tmp_path / "out.mp4").write_bytes(b"previous video")
    with pytest.raises(OutputError, match="no space left"):
        Pipeline([ArraySource(10)], FakeRunner().activate(), [VideoSink(str(tmp_path / "out.mp4")),
                                                              FullDisk(str(tmp_path / "summary.json"))],
                 PipelineOptions()).run()
    assert os.listdir(tmp_path) == ["out.mp4"] and (tmp_path / "out.mp4").read_bytes() == b"previous video"


def test_pipeline_state_exists_before_the_run_and_is_filled_by_it():
    runner = FakeRunner().activate()
    pipeline = Pipeline([ArraySource(12, live=True, period=0.001)], runner, [], PipelineOptions())
    assert pipeline.dropped == 0  # no feed yet: nothing dropped, no AttributeError
    before = pipeline.summary(0.0)
    assert before.frames == 0 and before.queue_high_water == {}
    after = pipeline.run()
    assert after.frames + after.dropped == after.captured == 12
    assert set(after.queue_high_water) == {"capture", "preprocess", "infer", "postprocess"}
    assert after.queue_high_water["capture"] >= 1  # the latest-frame slot held a frame




def test_a_run_stopped_before_its_first_frame_writes_nothing_and_keeps_the_previous_files(tmp_path, caplog):
    import _thread

    video, jsonl, maps = tmp_path / "out.mp4", tmp_path / "out.jsonl", tmp_path / "maps"
    video.write_bytes(b"the previous video")
    jsonl.write_text('{"frame": 0}\n{"frame": 1}\n')
    runner = FakeRunner(delay=4.0, size=(48, 64))  # the first frame is not done when Ctrl-C comes
    sinks = [VideoSink(str(video)), JsonLinesSink(str(jsonl)), MapsSink(str(maps))]
    timer = threading.Timer(0.5, _thread.interrupt_main)  # Ctrl-C while the pipeline waits for that frame
    with runner:
        pipeline = Pipeline([ArraySource(10)], runner, sinks, PipelineOptions())
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                pipeline.run()
        finally:
            timer.cancel()
    assert video.read_bytes() == b"the previous video"
    assert jsonl.read_text() == '{"frame": 0}\n{"frame": 1}\n'
    assert not maps.exists()  # the folder this run made, empty, is gone
    assert sorted(os.listdir(tmp_path)) == ["out.jsonl", "out.mp4"]  # no temp file either
    assert "no frame was finished: nothing written" in caplog.text
