"""Frame geometry, pre-processing, the official post-processing and the per-frame statistics."""
import cv2
import numpy as np
import pytest

from edge_saliency.errors import InputShapeError, UserError
from edge_saliency.maths.preprocess import PAD_VALUE, preprocess
from edge_saliency.pipeline.frames import Geometry, TemporalSmoother, prepare_frame, saliency_stats


def photo(size=(120, 200)):
    from skimage import data

    return cv2.resize(data.astronaut()[:, :, ::-1], (size[1], size[0]), interpolation=cv2.INTER_AREA)


def test_stretch_geometry_covers_the_whole_input():
    g = Geometry.fit((576, 768), (64, 96))
    assert g.content == (0, 0, 64, 96) and not g.letterboxed


@pytest.mark.parametrize("frame_size, model_size, content", [
    ((480, 640), (320, 320), (40, 0, 240, 320)),  # wide frame: bars top and bottom
    ((100, 300), (64, 96), (16, 0, 32, 96)),
    ((640, 480), (320, 320), (0, 40, 320, 240)),  # tall frame: bars left and right
])
def test_letterbox_keeps_the_aspect_ratio_and_centres(frame_size, model_size, content):
    g = Geometry.fit(frame_size, model_size, letterbox=True)
    assert g.content == content
    top, left, ch, cw = g.content
    assert abs(cw / ch - frame_size[1] / frame_size[0]) < 0.02


@pytest.mark.parametrize("mode, flag", [("opencv-linear", cv2.INTER_LINEAR), ("opencv-area", cv2.INTER_AREA)])
def test_stretch_preprocess_resizes_the_whole_frame_by_the_mode(mode, flag):
    # official: RGB, resize of the whole frame to the model size, /255, NCHW (no mean/std)
    bgr = photo()
    x, _ = prepare_frame(bgr, (64, 96), mode)
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    expected = cv2.resize(rgb, (96, 64), interpolation=flag).astype(np.float32) / 255.0
    assert x.shape == (1, 3, 64, 96) and x.dtype == np.float32
    np.testing.assert_allclose(x[0].transpose(1, 2, 0), expected, atol=1e-7)


def test_stretch_preprocess_in_pillow_mode_is_the_official_input():
    from PIL import Image
    from torchvision import transforms

    bgr = photo()
    x, _ = prepare_frame(bgr, (64, 96), "pillow-bilinear")
    official = transforms.Compose([transforms.Resize((64, 96)), transforms.ToTensor()])(
        Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1])))
    np.testing.assert_array_equal(x[0], official.numpy())


@pytest.mark.parametrize("mode", ["opencv-linear", "pillow-bilinear"])
def test_letterbox_pads_with_grey_and_resizes_the_content(mode):
    bgr = photo((100, 300))
    x, g = prepare_frame(bgr, (64, 96), mode, letterbox=True)
    top, left, ch, cw = g.content
    assert np.all(x[0, :, :top] == PAD_VALUE) and np.all(x[0, :, top + ch:] == PAD_VALUE)
    content = preprocess(bgr, (ch, cw), mode, bgr=True)[0].transpose(1, 2, 0)
    np.testing.assert_array_equal(x[0, :, top:top + ch, left:left + cw].transpose(1, 2, 0), content)
    if mode == "opencv-linear":
        linear = cv2.resize(bgr[:, :, ::-1].copy(), (cw, ch), interpolation=cv2.INTER_LINEAR) / 255.0
        np.testing.assert_allclose(content, linear, atol=1e-6)


def test_grey_and_float_frames_are_accepted_and_bad_frames_refused():
    grey = photo()[:, :, 0]
    x, _ = prepare_frame(grey, (32, 32), "opencv-area")
    np.testing.assert_array_equal(x[0, 0], x[0, 1])
    xf, _ = prepare_frame(photo().astype(np.float32) / 255.0, (32, 32), "opencv-area")
    np.testing.assert_allclose(xf, prepare_frame(photo(), (32, 32), "opencv-area")[0], atol=1 / 255)  # uint8 vs float
    with pytest.raises(InputShapeError, match="H×W"):
        prepare_frame(np.zeros((4, 4, 2), np.uint8), (32, 32), "opencv-area")


def test_stats_peak_and_bbox_of_the_most_salient_region_in_frame_pixels():
    saliency = np.zeros((20, 30), np.float32)
    saliency[2:6, 3:9] = 1.0  # the peak's region
    saliency[10:16, 20:28] = 0.8  # a second region above the threshold, not connected
    g = Geometry.fit((40, 60), (20, 30))  # frame is twice the map
    stats = saliency_stats(saliency, g, threshold=0.5)
    assert stats["peak"] == {"x": 6.5, "y": 4.5, "value": 1.0}  # centre of map pixel (3, 2) in the frame
    assert stats["bbox"] == [6, 4, 18, 12]
    assert stats["mean"] == pytest.approx(float(saliency.mean()), abs=1e-4)
    low = saliency_stats(saliency, g, threshold=0.7)
    assert low["bbox"] == [6, 4, 18, 12]
    assert saliency_stats(np.zeros((5, 5), np.float32), Geometry.fit((5, 5), (5, 5)))["bbox"] is None


def test_stats_undo_the_letterbox():
    g = Geometry.fit((100, 300), (64, 96), letterbox=True)  # content 32×96 at row 16
    model_map = np.zeros((64, 96), np.float32)
    model_map[16 + 8:16 + 12, 48:52] = 1.0
    stats = saliency_stats(g.crop(model_map), g)
    assert stats["bbox"] == [150, 25, 163, 38]  # x 48..52 of 96 → 150..162.5; y 8..12 of 32 → 25..37.5


def test_temporal_smoothing_is_an_exponential_moving_average():
    smoother = TemporalSmoother(0.25)
    maps = [np.full((2, 2), v, np.float32) for v in (1.0, 0.0, 0.0, 1.0)]
    expected, state = [], None
    for m in maps:
        state = m if state is None else 0.25 * m + 0.75 * state
        expected.append(state)
    got = [smoother(0, m) for m in maps]
    np.testing.assert_allclose(got, expected, atol=1e-7)
    assert smoother(1, maps[0])[0, 0] == 1.0  # streams are independent
    assert smoother(0, np.zeros((3, 3), np.float32)).shape == (3, 3)  # size change restarts
    assert TemporalSmoother(1.0)(0, maps[1]) is maps[1]
    with pytest.raises(UserError, match="smooth"):
        TemporalSmoother(0.0)
