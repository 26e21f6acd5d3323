"""Dataset loaders on tiny folders written in the real formats (tests/saliency_fixtures.py)."""
import os

import cv2
import numpy as np
import pytest
import scipy.io

from edge_saliency.data import find_samples, load_sample
from edge_saliency.data.io import read_fixations, read_map
from edge_saliency.data.transforms import points_to_map, scale_points
from edge_saliency.errors import UserError
from tests.saliency_fixtures import write_cat2000, write_folder, write_mit1003, write_salicon


def _sorted_points(points):
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return points[np.lexsort((points[:, 1], points[:, 0]))]


def test_salicon_fixture_has_the_structure_of_the_real_files(tmp_path):
    write_salicon(str(tmp_path), {"train": 1})
    path = next((tmp_path / "fixations" / "train").glob("*.mat"))
    mat = scipy.io.loadmat(str(path))
    assert {"image", "resolution", "gaze"} <= set(mat)
    gaze = mat["gaze"]
    assert gaze.shape == (5, 1) and gaze.dtype.names == ("location", "timestamp", "fixations")
    # the official loader's access: for row in gaze: row[0].tolist()[2] is that observer's N×2 (x, y)
    first = np.asarray(gaze[0][0].tolist()[2])
    assert first.shape == (5, 2) and np.issubdtype(first.dtype, np.integer) and first.min() >= 1
    assert tuple(mat["resolution"][0]) == (60, 80)


def test_salicon_loader_gives_0_based_points_inside_the_image(tmp_path):
    truth = write_salicon(str(tmp_path), {"train": 3, "val": 2})
    files = find_samples(str(tmp_path), "auto", "val", need=("map", "fixations"))
    assert [f.name for f in files] == sorted(truth["val"])
    sample = load_sample(files[0])
    assert sample.image.shape == (60, 80, 3) and sample.image.dtype == np.uint8
    assert sample.density.shape == (60, 80) and 0 <= sample.density.min() and sample.density.max() == 1.0
    # same points, same order (observers in file order), 1-based -> 0-based, the outside ones dropped
    np.testing.assert_array_equal(sample.fixations, truth["val"][files[0].name])
    assert [f.name for f in find_samples(str(tmp_path), "salicon", "train")] == sorted(truth["train"])


def test_salicon_image_is_rgb(tmp_path):
    write_salicon(str(tmp_path), {"train": 1})
    files = find_samples(str(tmp_path), "salicon", "train")
    sample = load_sample(files[0])
    bgr = cv2.imread(files[0].image)
    np.testing.assert_array_equal(sample.image, bgr[:, :, ::-1])


def test_mit1003_loader(tmp_path):
    truth = write_mit1003(str(tmp_path))
    files = find_samples(str(tmp_path), "auto", "all", need=("map", "fixations"))
    assert [f.name for f in files] == sorted(truth)
    for files_one in files:
        sample = load_sample(files_one)
        assert sample.density.shape == sample.shape  # images of different sizes keep their own
        np.testing.assert_array_equal(_sorted_points(sample.fixations), _sorted_points(truth[files_one.name]))
    # no split folders: every 10th image (in name order) is val
    assert [f.name for f in find_samples(str(tmp_path), "mit1003", "val")] == sorted(truth)[:1]
    assert [f.name for f in find_samples(str(tmp_path), "mit1003", "train")] == sorted(truth)[1:]


def test_cat2000_loader(tmp_path):
    truth = write_cat2000(str(tmp_path))
    files = find_samples(str(tmp_path), "auto", "all", need=("map", "fixations"))
    assert [f.name for f in files] == sorted(truth) and files[0].name == "Action/001"
    sample = load_sample(files[-1])
    assert sample.shape == (54, 96)
    np.testing.assert_array_equal(_sorted_points(sample.fixations), _sorted_points(truth[files[-1].name]))


@pytest.mark.parametrize("points_as", ["txt", "npy", "png"])
def test_folder_loader_points_and_fixation_maps(tmp_path, points_as):
    truth = write_folder(str(tmp_path), points_as=points_as)
    files = find_samples(str(tmp_path), "auto", "all", need=("map", "fixations"))
    assert [f.name for f in files] == sorted(truth)
    for f in files:
        np.testing.assert_array_equal(_sorted_points(load_sample(f).fixations), _sorted_points(truth[f.name]))


def test_points_outside_the_image_are_dropped_from_point_files(tmp_path):
    path = str(tmp_path / "p.txt")
    with open(path, "w") as f:
        f.write("1 2\n80 3\n-1 0\n79 59\n")
    np.testing.assert_array_equal(read_fixations(path, (60, 80)), [[1, 2], [79, 59]])


def test_read_map_scales_16_bit_png(tmp_path):
    path = str(tmp_path / "m.png")
    cv2.imwrite(path, np.array([[0, 65535], [32768, 0]], np.uint16))
    np.testing.assert_allclose(read_map(path), [[0, 1], [32768 / 65535, 0]], rtol=1e-6)


# -- resizing and flipping -----------------------------------------------------------------------------


def test_scale_points_follows_the_stretch():
    points = np.array([[0, 0], [1, 3], [79, 59], [40, 30]], np.float64)
    # halving: pixel x goes to x // 2
    np.testing.assert_array_equal(scale_points(points, (60, 80), (30, 40)), points // 2)
    # identity
    np.testing.assert_array_equal(scale_points(points, (60, 80), (60, 80)), points)
    # a bright pixel keeps its place through a real resize of the image
    image = np.zeros((60, 80), np.float32)
    image[30, 40] = 1.0
    small = cv2.resize(image, (40, 30), interpolation=cv2.INTER_AREA)
    y, x = np.unravel_index(small.argmax(), small.shape)
    np.testing.assert_array_equal(scale_points([[40, 30]], (60, 80), (30, 40)), [[x, y]])


def test_model_sample_flips_image_map_and_fixations_together(tmp_path):
    from edge_saliency.training.dataset import model_sample

    write_salicon(str(tmp_path), {"train": 1}, shape=(64, 96))
    sample = load_sample(find_samples(str(tmp_path), "salicon", "train")[0])
    args = (sample.image, sample.density, sample.fixations, (64, 96), "opencv-area")
    x, density, fixmap, points = model_sample(*args, False)
    xf, densityf, fixmapf, pointsf = model_sample(*args, True)
    assert x.shape == (3, 64, 96) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    np.testing.assert_allclose(x, sample.image.transpose(2, 0, 1) / 255.0, atol=1e-6)  # same size: no resize
    np.testing.assert_array_equal(xf, x[:, :, ::-1])
    np.testing.assert_array_equal(densityf, density[:, ::-1])
    np.testing.assert_array_equal(fixmapf, fixmap[:, ::-1])
    np.testing.assert_array_equal(points, sample.fixations)  # at the image's own size nothing moves
    np.testing.assert_array_equal(pointsf[:, 0], 95 - sample.fixations[:, 0])
    np.testing.assert_array_equal(pointsf[:, 1], sample.fixations[:, 1])
    # the fixation map has 1 exactly at the fixated pixels
    np.testing.assert_array_equal(fixmap, points_to_map(sample.fixations, (64, 96)))
    assert fixmap[int(points[0, 1]), int(points[0, 0])] == 1


def test_model_sample_resizes_to_the_input_size(tmp_path):
    from edge_saliency.training.dataset import SaliencyDataset

    write_salicon(str(tmp_path), {"train": 2})
    files = find_samples(str(tmp_path), "salicon", "train", need=("map", "fixations"))
    data = SaliencyDataset(files, (32, 64), "opencv-area", flip=True, seed=5)
    item = data[0]
    assert item["image"].shape == (3, 32, 64)
    assert item["density"].shape == item["fixations"].shape == (1, 32, 64)
    assert set(np.unique(item["fixations"].numpy())) <= {0.0, 1.0} and item["fixations"].sum() > 0
    # flips are a function of (seed, epoch, index): repeatable, and they change with the epoch
    decisions = [[data.flipped(i) for i in range(2)] for data.epoch in range(20)]
    assert decisions == [[data.flipped(i) for i in range(2)] for data.epoch in range(20)]
    assert any(d[0] for d in decisions) and not all(d[0] for d in decisions)


# -- errors --------------------------------------------------------------------------------------------


def test_missing_dataset_and_split_folders(tmp_path):
    with pytest.raises(UserError, match="dataset folder not found"):
        find_samples(str(tmp_path / "nope"))
    with pytest.raises(UserError, match="cannot tell the dataset layout"):
        find_samples(str(tmp_path))
    write_salicon(str(tmp_path), {"train": 1})
    with pytest.raises(UserError, match=r"split 'val' not found: .* has train"):
        find_samples(str(tmp_path), "salicon", "val")


def test_missing_annotation_folder_is_an_error_only_when_needed(tmp_path):
    write_folder(str(tmp_path))
    for f in (tmp_path / "maps").iterdir():
        f.unlink()
    (tmp_path / "maps").rmdir()
    files = find_samples(str(tmp_path), "folder", "all")
    assert files[0].map is None and files[0].fixations is not None
    with pytest.raises(UserError, match="maps folder not found"):
        find_samples(str(tmp_path), "folder", "all", need=("map", "fixations"))


def test_unmatched_files_name_the_images(tmp_path):
    truth = write_salicon(str(tmp_path), {"train": 3})
    name = sorted(truth["train"])[1]
    os.remove(str(tmp_path / "fixations" / "train" / (name + ".mat")))
    with pytest.raises(UserError, match=r"1 image\(s\) have no fixations in .*{}".format(name)):
        find_samples(str(tmp_path), "salicon", "train")


def test_unreadable_image_and_mat(tmp_path):
    write_salicon(str(tmp_path), {"train": 1})
    files = find_samples(str(tmp_path), "salicon", "train")
    with open(files[0].image, "wb") as f:
        f.write(b"not a jpeg")
    with pytest.raises(UserError, match="cannot read image .*jpg"):
        load_sample(files[0])
    with open(files[0].fixations, "wb") as f:
        f.write(b"garbage")
    with pytest.raises(UserError, match="cannot read .mat file"):
        read_fixations(files[0].fixations, (60, 80))


def test_map_of_the_wrong_size_is_an_error(tmp_path):
    write_folder(str(tmp_path), count=1)
    cv2.imwrite(str(tmp_path / "maps" / "photo0.png"), np.zeros((10, 10), np.uint8))
    with pytest.raises(UserError, match="map .* is 10×10 but its image .* is 60×80"):
        load_sample(find_samples(str(tmp_path), "folder", "all")[0])
