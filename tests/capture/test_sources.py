"""Sources by URI: parsing, credentials never shown, files, images, cameras, streams with reconnect, CSI."""
import logging
import os

import cv2
import numpy as np
import pytest

from edge_saliency.capture import gstreamer, media, sources, uri
from edge_saliency.capture.sources import open_source
from edge_saliency.capture.uri import mask_url, parse_uri
from edge_saliency.capture.video import CaptureSource
from edge_saliency.data.io import image_problem
from edge_saliency.errors import UserError

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


@pytest.mark.parametrize("uri, kind, target", [
    ("0", "camera", 0),
    ("12", "camera", 12),
    ("/dev/video2", "camera", "/dev/video2"),
    ("v4l2:///dev/video1", "camera", "/dev/video1"),
    ("csi://1", "csi", 1),
    ("rtsp://cam.local:554/live", "stream", "rtsp://cam.local:554/live"),
    ("https://example.com/stream.mjpg", "stream", "https://example.com/stream.mjpg"),
    ("gst://videotestsrc ! appsink", "gstreamer", "videotestsrc ! appsink"),
    ("videotestsrc ! videoconvert ! appsink", "gstreamer", "videotestsrc ! videoconvert ! appsink"),
    ("file:///data/clip.mkv", "file", "/data/clip.mkv"),
    ("clip.mp4", "file", "clip.mp4"),
    ("photo.JPG", "images", "photo.JPG"),
    ("frames/*.png", "images", "frames/*.png"),
])
def test_uri_forms(uri, kind, target):
    spec = parse_uri(uri)
    assert (spec.kind, spec.target) == (kind, target)
    assert spec.live == (kind in ("camera", "stream", "csi", "gstreamer"))


def test_a_folder_is_an_image_source(tmp_path):
    assert parse_uri(str(tmp_path)).kind == "images"


@pytest.mark.parametrize("uri, bad", [("csi://left", "csi://N"), ("ftp://host/x.mp4", "unknown source scheme"),
                                      ("", "empty source")])
def test_malformed_uris(uri, bad):
    with pytest.raises(UserError, match=bad):
        parse_uri(uri)


@pytest.mark.parametrize("url, masked", [
    ("rtsp://admin:hunter2@10.0.0.5:554/stream1", "rtsp://***@10.0.0.5:554/stream1"),
    ("http://user@cam/video.mjpg", "http://***@cam/video.mjpg"),
    ("https://cam/video?user=bob&password=hunter2&res=hd", "https://cam/video?user=bob&password=***&res=hd"),
    ("rtsp://cam/live?token=abc.def", "rtsp://cam/live?token=***"),
    ('rtspsrc location="rtsp://u:p@cam/live?token=abc" latency=200', 'rtspsrc location="rtsp://***@cam/live?token=***" '
                                                                     'latency=200'),  # pipeline text: quotes kept
    ("clip.mp4", "clip.mp4"),
])
def test_credentials_are_masked(url, masked):
    assert mask_url(url) == masked


def test_stream_errors_never_show_credentials(caplog):
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(UserError) as error:
            open_source("rtsp://admin:hunter2@127.0.0.1:9/stream")
    assert "hunter2" not in str(error.value) and "admin" not in str(error.value)
    assert "rtsp://***@127.0.0.1:9/stream" in str(error.value)
    assert "hunter2" not in caplog.text


def test_a_video_file_gives_every_frame_in_order_with_media_timestamps(clip):
    with open_source(clip) as source:
        assert source.kind == "file" and not source.live
        assert (source.size, source.fps, source.frame_count) == ((96, 128), 15.0, 40)
        frames = list(source)
    assert [f.index for f in frames] == list(range(40))
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(40) / 15.0, atol=1e-6)
    reference = cv2.VideoCapture(clip)
    for frame in frames[:5]:
        ok, expected = reference.read()
        np.testing.assert_array_equal(frame.image, expected)


def test_loop_restarts_a_file_with_increasing_timestamps(clip):
    with open_source(clip, loop=True) as source:
        frames = [source.read() for _ in range(90)]
    assert all(f is not None for f in frames)
    stamps = [f.timestamp for f in frames]
    assert all(b > a for a, b in zip(stamps, stamps[1:])) and stamps[45] == pytest.approx(45 / 15.0)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(UserError, match="source not found: .*nope.mp4"):
        open_source(str(tmp_path / "nope.mp4"))
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(UserError, match="not a video OpenCV/FFmpeg can read"):
        open_source(str(garbage))


def unsupported_codec_avi(path):
    """A valid AVI whose video codec is one no decoder knows ('QQQQ')."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(3):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    path.write_bytes(path.read_bytes().replace(b"MJPG", b"QQQQ"))
    return str(path)


def test_an_unsupported_codec_is_named(tmp_path):
    with pytest.raises(UserError, match="no decoder for its codec 'QQQQ' \\(AVI file\\)"):
        open_source(unsupported_codec_avi(tmp_path / "odd.avi"))


def test_a_camera_that_is_not_there(monkeypatch):
    monkeypatch.setattr(sources, "cameras_present", lambda: ["/dev/video0"])
    if os.path.exists("/dev/video57"):
        pytest.skip("this machine has a /dev/video57")
    with pytest.raises(UserError, match=r"no camera at 57 \(/dev/video57\): cameras here: /dev/video0"):
        open_source("57")
    with pytest.raises(UserError, match="no camera at /dev/video57"):
        open_source("/dev/video57")


def test_csi_needs_opencv_with_gstreamer():
    if gstreamer.gstreamer_available():
        pytest.skip("this OpenCV has GStreamer")
    with pytest.raises(UserError, match="csi://0 needs OpenCV built with GStreamer.*--system-site-packages"):
        open_source("csi://0")
    with pytest.raises(UserError, match="needs OpenCV built with GStreamer"):
        open_source("gst://videotestsrc ! appsink")


def test_csi_pipeline_and_user_pipelines():
    pipeline = gstreamer.csi_pipeline(1, 1920, 1080, 30, flip=2)
    assert pipeline.startswith("nvarguscamerasrc sensor-id=1 ! video/x-raw(memory:NVMM), width=(int)1920")
    assert "framerate=(fraction)30/1" in pipeline and "nvvidconv flip-method=2" in pipeline
    assert pipeline.endswith("appsink drop=true max-buffers=1 sync=false") and "format=(string)BGR " in pipeline
    assert gstreamer.with_appsink("videotestsrc").endswith("format=(string)BGR ! appsink drop=true max-buffers=1")
    assert gstreamer.with_appsink("v ! appsink name=x") == "v ! appsink name=x"


def write_images(folder, count=4, corrupt=None):
    from edge_saliency.outputs.sample_clip import sample_frames

    folder.mkdir(exist_ok=True)
    for i, frame in enumerate(sample_frames(count, (48, 64))):
        cv2.imwrite(str(folder / "img{}.png".format(i + 1)), frame)
    if corrupt is not None:
        (folder / corrupt).write_bytes(b"\x89PNG\r\n\x1a\n this is not a picture")
    (folder / "notes.txt").write_text("ignored")
    return folder


def test_an_image_folder_skips_a_corrupt_image_with_a_warning(tmp_path, caplog):
    folder = write_images(tmp_path / "imgs", count=11, corrupt="img5.png")
    with caplog.at_level(logging.WARNING):
        with open_source(str(folder), image_fps=5) as source:
            frames = list(source)
    names = [f.name for f in frames]
    assert names == ["img{}".format(i) for i in range(1, 12) if i != 5]  # natural order: img2 before img10
    assert source.skipped == 1 and "skipping" in caplog.text and "img5.png" in caplog.text
    assert frames[1].timestamp == pytest.approx(0.2)


def test_image_globs_and_empty_sources(tmp_path):
    folder = write_images(tmp_path / "imgs", count=3)
    with open_source(str(folder / "img[12].png")) as source:
        assert source.frame_count == 2
    with pytest.raises(UserError, match="no files match"):
        open_source(str(folder / "*.jpeg"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images in folder"):
        open_source(str(tmp_path / "empty"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"nope")
    with pytest.raises(UserError, match="none of the 1 image"):
        open_source(str(bad))


class ScriptedCapture:
    """A VideoCapture stand-in: opens or not, then gives ``frames`` frames and fails."""

    def __init__(self, opens=True, frames=0):
        self.opens, self.left, self.released = opens, frames, False

    def isOpened(self):
        return self.opens

    def read(self):
        if self.opens and self.left > 0:
            self.left -= 1
            return True, np.zeros((8, 8, 3), np.uint8)
        return False, None

    def release(self):
        self.released = True


def test_a_dropped_stream_reconnects_with_backoff(caplog):
    script = [ScriptedCapture(frames=3), ScriptedCapture(opens=False), ScriptedCapture(frames=0),
              ScriptedCapture(frames=2)]
    sleeps = []
    source = CaptureSource("rtsp://u:secret@cam/x", "stream", "rtsp://u:secret@cam/x", reconnect=5,
                           capture_factory=lambda target: script.pop(0) if script else ScriptedCapture(opens=False),
                           sleep=sleeps.append)
    source.open()
    with caplog.at_level(logging.INFO):
        indices = []
        while True:
            frame = source.read()
            if frame is None:
                break
            indices.append(frame.index)
    assert indices == [0, 1, 2, 3, 4]  # 3 before the drop, 2 after reconnecting
    assert sleeps[:3] == [0.5, 1.0, 2.0] and source.reconnects == 1
    assert len(sleeps) == 3 + 5  # then the second drop: five attempts, none opens
    assert "secret" not in caplog.text and "rtsp://***@cam/x dropped" in caplog.text


def test_backoff_is_capped():
    assert [uri.backoff_delay(i) for i in range(1, 9)] == [0.5, 1, 2, 4, 8, 10, 10, 10]


def test_stop_interrupts_a_reconnect_wait():
    source = CaptureSource("rtsp://cam/x", "stream", "x", reconnect=-1,
                           capture_factory=lambda target: ScriptedCapture(frames=1))
    source.open()
    assert source.read() is not None
    source.stop_event.set()
    assert source.read() is None  # no 0.5 s, 1 s, ... waits once stopped


@pytest.mark.skipif(not os.path.isfile(VTEST), reason="opencv-doc's vtest.avi is not installed")
def test_real_video_vtest():
    with open_source(VTEST) as source:
        assert source.size == (576, 768) and source.frame_count == 795 and source.fps == 10.0


# -- truncated media, start-up retries, interruptible connects ---------------------------------------------


def test_image_problem_walks_jpeg_and_png(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    for name, params in (("base.jpg", []), ("prog.jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
                         ("rst.jpg", [cv2.IMWRITE_JPEG_RST_INTERVAL, 2]), ("a.png", [])):
        path = tmp_path / name
        cv2.imwrite(str(path), image, params)
        data = path.read_bytes()
        assert image_problem(str(path)) is None, name
        path.write_bytes(data + b"trailing bytes after the image")  # e.g. a phone's appended data
        assert image_problem(str(path)) is None, name
        for keep in (0.3, 0.7, len(data) - 2):
            cut = keep if isinstance(keep, int) else int(len(data) * keep)
            path.write_bytes(data[:cut])
            assert "truncated" in image_problem(str(path)), (name, keep)
    (tmp_path / "other.bmp").write_bytes(b"BM whatever")
    assert image_problem(str(tmp_path / "other.bmp")) is None  # formats not walked: the decoder decides


def test_a_truncated_jpeg_is_skipped_and_counted(tmp_path, caplog):
    folder = write_images(tmp_path / "imgs", count=3)
    image = cv2.imread(str(folder / "img1.png"))
    cv2.imwrite(str(folder / "img2.jpg"), image)
    data = (folder / "img2.jpg").read_bytes()
    (folder / "img2.jpg").write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING):
        with open_source(str(folder)) as source:
            names = [f.name for f in source]
    assert names == ["img1", "img2", "img3"]  # img2.png; img2.jpg skipped
    assert source.skipped == 1 and "img2.jpg: a truncated JPEG" in caplog.text


@pytest.mark.parametrize("ext", [".mp4", ".avi", ".mkv"])
def test_media_problem_names_truncated_containers(tmp_path, ext):
    from edge_saliency.outputs.sample_clip import write_sample_clip

    path = write_sample_clip(str(tmp_path / ("c" + ext)), frames=12, size=(48, 64), fps=10.0)
    assert media.media_problem(path) is None
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    assert "the file is truncated" in media.media_problem(path)


def test_media_problem_of_an_unfinished_mp4_and_non_videos(tmp_path, clip):
    data = open(clip, "rb").read()
    unfinished = tmp_path / "rec.mp4"
    unfinished.write_bytes(data[: data.find(b"moov") - 4])
    assert "no 'moov' index" in media.media_problem(str(unfinished))
    (tmp_path / "x.mp4").write_bytes(b"not a video at all")
    assert media.media_problem(str(tmp_path / "x.mp4")) is None
    assert media.media_problem(str(tmp_path / "missing.mp4")) is None


def test_a_stream_down_at_start_is_retried_only_when_asked(caplog):
    sleeps = []
    script = [ScriptedCapture(opens=False), ScriptedCapture(opens=False), ScriptedCapture(frames=2)]
    source = CaptureSource("rtsp://u:pw@cam/x", "stream", "rtsp://u:pw@cam/x", reconnect=5, start_attempts=3,
                           capture_factory=lambda target: script.pop(0), sleep=sleeps.append)
    with caplog.at_level(logging.WARNING):
        source.open()
    assert sleeps == [0.5, 1.0] and source.read() is not None
    assert "rtsp://***@cam/x is down; retrying in 0.5 s (attempt 1 of 3)" in caplog.text and "pw" not in caplog.text
    never = CaptureSource("rtsp://cam/x", "stream", "x", reconnect=5,
                          capture_factory=lambda target: ScriptedCapture(opens=False), sleep=sleeps.append)
    with pytest.raises(UserError, match="cannot open stream rtsp://cam/x: no answer"):
        never.open()  # start_attempts 0: the default without --reconnect
    give_up = CaptureSource("rtsp://cam/x", "stream", "x", start_attempts=2,
                            capture_factory=lambda target: ScriptedCapture(opens=False), sleep=lambda s: None)
    with pytest.raises(UserError, match="gave up after 3 attempts to connect"):
        give_up.open()
    a_file = CaptureSource("clip.mp4", "file", "clip.mp4", start_attempts=5,
                           capture_factory=lambda target: ScriptedCapture(opens=False), sleep=sleeps.append)
    with pytest.raises(UserError):
        a_file.open()  # files are never retried
    assert sleeps == [0.5, 1.0]


def test_stop_ends_a_stalled_connect_at_once():
    import threading
    import time

    release = threading.Event()
    made = []

    def stalled(target):  # a driver or FFmpeg call that does not return
        release.wait(10)
        made.append(ScriptedCapture(frames=1))
        return made[-1]

    source = CaptureSource("rtsp://cam/x", "stream", "x", start_attempts=-1, capture_factory=stalled)
    threading.Timer(0.3, source.stop_event.set).start()
    started = time.monotonic()
    with pytest.raises(UserError, match="stopped while connecting"):
        source.open()
    assert time.monotonic() - started < 2.0
    release.set()
    deadline = time.monotonic() + 5
    while not made and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert made and made[0].released  # the capture it opened later is released, not leaked


def test_looping_rewinds_instead_of_reopening(clip, monkeypatch):
    opened = []
    real = cv2.VideoCapture

    def counting(*args):
        opened.append(args)
        return real(*args)

    monkeypatch.setattr(cv2, "VideoCapture", counting)
    with open_source(clip, loop=True) as source:
        frames = [source.read() for _ in range(3 * source.frame_count)]
    assert len(opened) == 1  # opened once (open_source + with), rewound twice
    n = len(frames) // 3
    assert all(np.array_equal(frames[i].image, frames[i + n].image) for i in range(n))
    assert [f.index for f in frames] == list(range(3 * n))


def test_decoded_frames_reuse_buffers_once_let_go_and_read_as_a_plain_capture(clip):
    """Frames are decoded into pooled buffers: a frame still held is never written over, a released one is reused,
    and every frame equals what a plain VideoCapture reads."""
    capture = cv2.VideoCapture(clip)
    expected = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        expected.append(image)
    capture.release()
    with open_source(clip) as source:
        held = [source.read(), source.read()]  # e.g. in the pipeline's queues
        held_copies = [f.image.copy() for f in held]
        images = []
        while True:
            frame = source.read()
            if frame is None:
                break
            assert not any(np.shares_memory(frame.image, h.image) for h in held)
            images.append((frame.index, frame.image.copy()))
            del frame  # written by every sink: its buffer may come back
        allocated = source._pool.allocated
    assert [np.array_equal(h.image, c) for h, c in zip(held, held_copies)] == [True, True]
    assert len(images) + 2 == len(expected) == 40
    for index, image in images:
        np.testing.assert_array_equal(image, expected[index])
    assert allocated <= 3  # the two held and one in turn, not one per frame
