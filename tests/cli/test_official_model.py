"""The released EML-Net end to end, as a user with the three files runs it: ``convert-official``, then
``predict`` gives the official script's maps (tests/official_reference.py re-implements that script step by
step) within 1 grey level, on real photos."""
import os

import cv2
import numpy as np
import pytest
import skimage
import torch

from edge_saliency.cli import main
from edge_saliency.maths import metrics
from edge_saliency.models import create_model
from tests.official_reference import official_map, save_official_files
from tests.realistic_weights import realistic_batchnorm

PHOTOS = os.path.join(os.path.dirname(skimage.__file__), "data")  # real image files shipped in the wheel


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The three released files, of an official model whose BatchNorm statistics were measured on photos."""
    torch.manual_seed(0)
    model = create_model("emlnet-resnet50-official")
    realistic_batchnorm(model, (128, 160))  # measured at a small size: cheap, and the statistics carry over
    return save_official_files(model, tmp_path_factory.mktemp("released"))


@pytest.fixture(scope="module")
def converted(released, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("converted") / "emlnet-official.safetensors")
    assert main(["convert-official", released["imagenet"], released["places"], released["decoder"], "-o", out]) == 0
    return out


def _predict(model, images, folder, *extra):
    assert main(["predict", *images, "--model", model, "-o", str(folder), "--workers", "0", "--device", "cpu",
                 *extra]) == 0
    return {os.path.splitext(os.path.basename(p))[0]: cv2.imread(str(folder / (os.path.splitext(
        os.path.basename(p))[0] + ".png")), cv2.IMREAD_UNCHANGED) for p in images}


def test_predict_reproduces_the_official_maps(released, converted, tmp_path, capsys):
    # a JPEG, 872×1000: shrinking, where Pillow's resize averages; enlarging; one axis shrinking, one enlarging
    names = ("hubble_deep_field.jpg", "chelsea.png", "coffee.png", "astronaut.png")
    images = [os.path.join(PHOTOS, n) for n in names]
    ours = _predict(converted, images, tmp_path / "maps", "--map-size", "model")
    assert "wrote {} saliency map".format(len(images)) in capsys.readouterr().out
    for path in images:
        official = official_map(path, released)
        mine = ours[os.path.splitext(os.path.basename(path))[0]]
        assert mine.shape == official.shape == (480, 640) and mine.dtype == np.uint8
        assert official.std() > 20  # a map with structure: the comparison means something
        diff = np.abs(mine.astype(int) - official)
        assert diff.max() <= 1, (path, diff.max())
        assert (diff > 0).mean() < 0.01 and metrics.cc(mine, official) > 0.9999


def test_predict_at_the_image_size_is_the_official_chain_resized_before_the_minmax(converted, tmp_path):
    # the default: the blurred map resized to the image (bilinear), then min-max and truncation
    path = os.path.join(PHOTOS, "hubble_deep_field.jpg")
    at_model = _predict(converted, [path], tmp_path / "model", "--map-size", "model")["hubble_deep_field"]
    at_image = _predict(converted, [path], tmp_path / "image")["hubble_deep_field"]
    assert at_image.shape == (872, 1000)
    resized = cv2.resize(at_model.astype(np.float32), (1000, 872), interpolation=cv2.INTER_LINEAR)
    assert metrics.cc(at_image, resized) > 0.999 and np.abs(at_image - resized).max() <= 3


def test_convert_official_errors_are_one_line(released, tmp_path, capsys):
    args = [released["imagenet"], released["places"], released["decoder"]]
    assert main(["convert-official", *args, "-o", str(tmp_path / "model.pth")]) == 1
    assert capsys.readouterr().err.strip() == ("edge-saliency: error: the output must be a .safetensors path, got "
                                               "{}".format(tmp_path / "model.pth"))
    out = str(tmp_path / "m.safetensors")
    assert main(["convert-official", released["decoder"], released["places"], released["imagenet"], "-o", out]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give the files in the order IMAGENET PLACES DECODER" in err[0]
    assert not os.path.exists(out) and not os.path.exists(out + ".json")
