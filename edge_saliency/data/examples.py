"""Tiny example datasets in each layout ``--data`` reads (docs/datasets.md), written from Python or with

    python -m edge_saliency.data.examples salicon /tmp/salicon     # or mit1003, cat2000, folder

The test suite trains, evaluates and checks the loaders on exactly these. Every image is dark noise with one
bright disc; the observers fixate on and around the disc, and the continuous map is the blurred fixation
map — so a model learns it in a few steps. Each writer returns the 0-based (x, y) fixations that the loader
must give back, by sample name. Needs OpenCV (base install) and, for the ``.mat`` files, scipy (``[train]``).
"""
import argparse
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require

Points = Dict[str, np.ndarray]


def _cv2() -> Any:
    return require("cv2", purpose="writing example images")


def _savemat(path: str, variables: Dict[str, Any]) -> None:
    sio = require("scipy.io", purpose="writing .mat fixation files")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sio.savemat(path, variables)


def _image_and_points(rng: np.random.Generator, shape: Sequence[int], n_points: int = 12
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """An RGB noise image with one bright disc, and ``n_points`` fixations (x, y) on and around it."""
    h, w = int(shape[0]), int(shape[1])
    image = rng.integers(0, 60, size=(h, w, 3)).astype(np.uint8)
    cx, cy = int(rng.integers(w // 4, 3 * w // 4)), int(rng.integers(h // 4, 3 * h // 4))
    _cv2().circle(image, (cx, cy), max(3, min(h, w) // 8), (250, 230, 40), -1)
    jitter = rng.integers(-3, 4, size=(n_points, 2))
    points = np.clip(np.array([cx, cy]) + jitter, [0, 0], [w - 1, h - 1]).astype(np.int64)
    return image, points


def _density(points: np.ndarray, shape: Sequence[int], sigma: float = 4.0) -> np.ndarray:
    """The continuous map of ``points``: the fixation map blurred, scaled to uint8 0..255."""
    fixmap = np.zeros(tuple(shape), np.float32)
    fixmap[points[:, 1], points[:, 0]] = 1.0
    density = _cv2().GaussianBlur(fixmap, (0, 0), sigma)
    return (255 * density / density.max()).astype(np.uint8)


def _write(path: str, array: np.ndarray, params: Sequence[int] = ()) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not _cv2().imwrite(path, array, list(params)):
        raise OSError("OpenCV could not write {}".format(path))


def _write_rgb(path: str, image: np.ndarray) -> None:
    _write(path, np.ascontiguousarray(image[:, :, ::-1]))  # OpenCV writes BGR


def salicon_mat(path: str, name: str, points_per_observer: Sequence[np.ndarray], shape: Sequence[int]) -> None:
    """A SALICON fixation file: variables ``image`` (the name), ``resolution`` ([[height, width]]) and
    ``gaze``, an N×1 struct array (one element per observer) with fields ``location`` (raw gaze samples),
    ``timestamp`` and ``fixations``: N×2 (x, y), 1-based, integer — the structure of the real files."""
    gaze = np.zeros((len(points_per_observer), 1), dtype=[("location", "O"), ("timestamp", "O"), ("fixations", "O")])
    for i, pts in enumerate(points_per_observer):
        pts = np.asarray(pts, dtype=np.uint16).reshape(-1, 2)
        gaze[i, 0]["location"] = np.repeat(pts, 3, axis=0).astype(np.float64) + 0.25  # raw gaze samples
        gaze[i, 0]["timestamp"] = np.arange(3 * len(pts), dtype=np.float64).reshape(-1, 1) * 4.0
        gaze[i, 0]["fixations"] = pts
    _savemat(path, {"image": name, "resolution": np.array([[shape[0], shape[1]]], dtype=np.uint16), "gaze": gaze})


def write_salicon(root: str, splits: Optional[Dict[str, int]] = None, shape: Sequence[int] = (60, 80),
                  seed: int = 0) -> Dict[str, Points]:
    """ROOT/images/<split>/NAME.jpg, maps/<split>/NAME.png, fixations/<split>/NAME.mat (``splits``: images
    per split, default 6 train + 2 val). Returns {split: {name: 0-based points inside the image}}. Each file
    also holds points outside the image (1-based x = width + 1, y = height + 1, and x = 0), which loaders
    drop, and an observer without fixations."""
    rng = np.random.default_rng(seed)
    splits = splits or {"train": 6, "val": 2}
    truth: Dict[str, Points] = {}
    h, w = int(shape[0]), int(shape[1])
    for split, count in splits.items():
        truth[split] = {}
        for i in range(count):
            name = "COCO_{}2014_{:012d}".format(split, 1000 + i)
            image, points = _image_and_points(rng, shape)
            _write_rgb(os.path.join(root, "images", split, name + ".jpg"), image)
            _write(os.path.join(root, "maps", split, name + ".png"), _density(points, shape))
            one_based = points + 1
            observers = [one_based[:5], one_based[5:6], np.zeros((0, 2)), one_based[6:],
                         np.array([[w + 1, 5], [3, h + 1], [0, 4]])]  # the last ones fall outside
            salicon_mat(os.path.join(root, "fixations", split, name + ".mat"), name, observers, shape)
            truth[split][name] = points.astype(np.float64)
    return truth


def write_mit1003(root: str, sizes: Sequence[Sequence[int]] = ((60, 80), (80, 60), (64, 96)), seed: int = 1
                  ) -> Points:
    """ROOT/ALLSTIMULI/NAME.jpeg, ALLFIXATIONMAPS/NAME_fixMap.jpg (continuous map) and NAME_fixPts.jpg (binary:
    255 at the fixated pixels), one image per entry of ``sizes`` (images of different sizes, as MIT1003's)."""
    rng = np.random.default_rng(seed)
    truth: Points = {}
    cv2 = _cv2()
    for i, shape in enumerate(sizes):
        name = "i{:04d}_static_street".format(i)
        image, points = _image_and_points(rng, shape)
        points = np.unique(points, axis=0)
        _write_rgb(os.path.join(root, "ALLSTIMULI", name + ".jpeg"), image)
        _write(os.path.join(root, "ALLFIXATIONMAPS", name + "_fixMap.jpg"), _density(points, shape))
        fixpts = np.zeros(tuple(shape), np.uint8)
        fixpts[points[:, 1], points[:, 0]] = 255
        _write(os.path.join(root, "ALLFIXATIONMAPS", name + "_fixPts.jpg"), fixpts, (cv2.IMWRITE_JPEG_QUALITY, 90))
        truth[name] = points.astype(np.float64)
    return truth


def write_cat2000(root: str, categories: Sequence[str] = ("Action", "Indoor"), per_category: int = 2,
                  shape: Sequence[int] = (54, 96), seed: int = 2) -> Points:
    """ROOT/Stimuli/<Category>/NNN.jpg, FIXATIONMAPS/<Category>/NNN.jpg (continuous map) and
    FIXATIONLOCS/<Category>/NNN.mat (variable ``fixLocs``: a binary map of the image's size)."""
    rng = np.random.default_rng(seed)
    truth: Points = {}
    for category in categories:
        for i in range(per_category):
            stem = "{:03d}".format(i + 1)
            image, points = _image_and_points(rng, shape)
            points = np.unique(points, axis=0)
            _write_rgb(os.path.join(root, "Stimuli", category, stem + ".jpg"), image)
            _write(os.path.join(root, "FIXATIONMAPS", category, stem + ".jpg"), _density(points, shape))
            fixlocs = np.zeros(tuple(shape), np.float64)
            fixlocs[points[:, 1], points[:, 0]] = 1
            _savemat(os.path.join(root, "FIXATIONLOCS", category, stem + ".mat"), {"fixLocs": fixlocs})
            truth["{}/{}".format(category, stem)] = points.astype(np.float64)
    return truth


FOLDER_POINTS = ("txt", "npy", "png")


def write_folder(root: str, count: int = 3, shape: Sequence[int] = (60, 80), points_as: str = "txt",
                 seed: int = 3) -> Points:
    """A flat folder dataset: images/NAME.png, maps/NAME.png and fixations/NAME.txt (``points_as="txt"``: one
    "x, y" line per fixation, 0-based, '#' comments), NAME.npy (an N×2 array) or NAME.png (a 0/1 map)."""
    if points_as not in FOLDER_POINTS:
        raise ValueError("points_as must be one of {}, got {!r}".format(", ".join(FOLDER_POINTS), points_as))
    rng = np.random.default_rng(seed)
    truth: Points = {}
    for i in range(count):
        name = "photo{}".format(i)
        image, points = _image_and_points(rng, shape)
        points = np.unique(points, axis=0)
        _write_rgb(os.path.join(root, "images", name + ".png"), image)
        _write(os.path.join(root, "maps", name + ".png"), _density(points, shape))
        fixations = os.path.join(root, "fixations", name + "." + points_as)
        os.makedirs(os.path.dirname(fixations), exist_ok=True)
        if points_as == "txt":
            with open(fixations, "w", encoding="utf-8") as f:
                f.write("# x, y (0-based)\n" + "".join("{}, {}\n".format(x, y) for x, y in points))
        elif points_as == "npy":
            np.save(fixations, points)
        else:
            fixmap = np.zeros(tuple(shape), np.uint8)
            fixmap[points[:, 1], points[:, 0]] = 1  # a 0/1 PNG
            _write(fixations, fixmap)
        truth[name] = points.astype(np.float64)
    return truth


WRITERS: Dict[str, Callable[..., Any]] = {
    "salicon": write_salicon, "mit1003": write_mit1003, "cat2000": write_cat2000, "folder": write_folder,
}


def written_files(root: str) -> List[str]:
    """The files under ``root``, relative, '/'-separated and sorted (what an example wrote)."""
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            found.append(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/"))
    return sorted(found)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_saliency.data.examples",
                                     description="Write a tiny example dataset in one of the layouts --data reads.")
    parser.add_argument("layout", choices=sorted(WRITERS))
    parser.add_argument("root", help="folder to write (it must not exist yet, or be empty)")
    args = parser.parse_args(argv)
    if os.path.isdir(args.root) and os.listdir(args.root):
        print("{}: {} is not empty; choose a new folder".format(parser.prog, args.root), file=sys.stderr)
        return 1
    WRITERS[args.layout](args.root)
    files = written_files(args.root)
    print("wrote a {} example dataset: {} files in {}".format(args.layout, len(files), args.root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
