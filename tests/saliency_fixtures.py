"""Tiny datasets in the real on-disk formats (SALICON, MIT1003, CAT2000, folder), written in a test's tmp dir.

Every image is noise with one bright disc; the observers fixate on and around the disc, and the continuous
map is the blurred fixation map — so a model can learn it in a few steps. The functions return the
0-based (x, y) fixations each loader must give back.
"""
import os

import cv2
import numpy as np
import scipy.io


def _image_and_points(rng, shape, n_points=12):
    h, w = shape
    image = rng.integers(0, 60, size=(h, w, 3)).astype(np.uint8)
    cx, cy = int(rng.integers(w // 4, 3 * w // 4)), int(rng.integers(h // 4, 3 * h // 4))
    cv2.circle(image, (cx, cy), max(3, min(h, w) // 8), (250, 230, 40), -1)
    jitter = rng.integers(-3, 4, size=(n_points, 2))
    points = np.clip(np.array([cx, cy]) + jitter, [0, 0], [w - 1, h - 1]).astype(np.int64)
    return image, points


def _density(points, shape, sigma=4.0):
    fixmap = np.zeros(shape, np.float32)
    fixmap[points[:, 1], points[:, 0]] = 1.0
    density = cv2.GaussianBlur(fixmap, (0, 0), sigma)
    return (255 * density / density.max()).astype(np.uint8)


def _write(path, array, params=()):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, array, list(params)), path


def salicon_mat(path, name, points_per_observer, shape):
    """A SALICON fixation file: ``image``, ``resolution`` and ``gaze``, an N×1 struct array with fields
    (location, timestamp, fixations); fixations are N×2 (x, y), 1-based, integer — as the real files."""
    gaze = np.zeros((len(points_per_observer), 1), dtype=[("location", "O"), ("timestamp", "O"), ("fixations", "O")])
    for i, pts in enumerate(points_per_observer):
        pts = np.asarray(pts, dtype=np.uint16).reshape(-1, 2)
        gaze[i, 0]["location"] = np.repeat(pts, 3, axis=0).astype(np.float64) + 0.25  # raw gaze samples
        gaze[i, 0]["timestamp"] = np.arange(3 * len(pts), dtype=np.float64).reshape(-1, 1) * 4.0
        gaze[i, 0]["fixations"] = pts
    os.makedirs(os.path.dirname(path), exist_ok=True)
    scipy.io.savemat(path, {"image": name, "resolution": np.array([[shape[0], shape[1]]], dtype=np.uint16),
                            "gaze": gaze})


def write_salicon(root, splits=None, shape=(60, 80), seed=0):
    """ROOT/images/<split>/NAME.jpg, maps/<split>/NAME.png, fixations/<split>/NAME.mat. Returns
    {split: {name: 0-based points inside the image}}. Each file also holds points outside the image
    (1-based x = width + 1, and 0) that loaders must drop, and an observer without fixations."""
    rng = np.random.default_rng(seed)
    splits = splits or {"train": 6, "val": 2}
    truth = {}
    h, w = shape
    for split, count in splits.items():
        truth[split] = {}
        for i in range(count):
            name = "COCO_{}2014_{:012d}".format(split, 1000 + i)
            image, points = _image_and_points(rng, shape)
            _write(os.path.join(root, "images", split, name + ".jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            _write(os.path.join(root, "maps", split, name + ".png"), _density(points, shape))
            one_based = points + 1
            observers = [one_based[:5], one_based[5:6], np.zeros((0, 2)), one_based[6:],
                         np.array([[w + 1, 5], [3, h + 1], [0, 4]])]  # the last ones fall outside
            salicon_mat(os.path.join(root, "fixations", split, name + ".mat"), name, observers, shape)
            truth[split][name] = points.astype(np.float64)
    return truth


def write_mit1003(root, sizes=((60, 80), (80, 60), (64, 96)), seed=1):
    """ROOT/ALLSTIMULI/NAME.jpeg, ALLFIXATIONMAPS/NAME_fixMap.jpg (continuous) and NAME_fixPts.jpg (binary)."""
    rng = np.random.default_rng(seed)
    truth = {}
    for i, shape in enumerate(sizes):
        name = "i{:04d}_static_street".format(i)
        image, points = _image_and_points(rng, shape)
        points = np.unique(points, axis=0)
        _write(os.path.join(root, "ALLSTIMULI", name + ".jpeg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        _write(os.path.join(root, "ALLFIXATIONMAPS", name + "_fixMap.jpg"), _density(points, shape))
        fixpts = np.zeros(shape, np.uint8)
        fixpts[points[:, 1], points[:, 0]] = 255
        _write(os.path.join(root, "ALLFIXATIONMAPS", name + "_fixPts.jpg"), fixpts, (cv2.IMWRITE_JPEG_QUALITY, 90))
        truth[name] = points.astype(np.float64)
    return truth


def write_cat2000(root, categories=("Action", "Indoor"), per_category=2, shape=(54, 96), seed=2):
    """ROOT/Stimuli/<Category>/NNN.jpg, FIXATIONMAPS/<Category>/NNN.jpg, FIXATIONLOCS/<Category>/NNN.mat
    (``fixLocs``, a binary map)."""
    rng = np.random.default_rng(seed)
    truth = {}
    for category in categories:
        for i in range(per_category):
            stem = "{:03d}".format(i + 1)
            image, points = _image_and_points(rng, shape)
            points = np.unique(points, axis=0)
            _write(os.path.join(root, "Stimuli", category, stem + ".jpg"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            _write(os.path.join(root, "FIXATIONMAPS", category, stem + ".jpg"), _density(points, shape))
            fixlocs = np.zeros(shape, np.float64)
            fixlocs[points[:, 1], points[:, 0]] = 1
            os.makedirs(os.path.join(root, "FIXATIONLOCS", category), exist_ok=True)
            scipy.io.savemat(os.path.join(root, "FIXATIONLOCS", category, stem + ".mat"), {"fixLocs": fixlocs})
            truth["{}/{}".format(category, stem)] = points.astype(np.float64)
    return truth


def write_folder(root, count=3, shape=(60, 80), points_as="txt", seed=3):
    """A flat folder dataset: images/NAME.png, maps/NAME.png, fixations/NAME.(txt|npy|png)."""
    rng = np.random.default_rng(seed)
    truth = {}
    for i in range(count):
        name = "photo{}".format(i)
        image, points = _image_and_points(rng, shape)
        points = np.unique(points, axis=0)
        _write(os.path.join(root, "images", name + ".png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        _write(os.path.join(root, "maps", name + ".png"), _density(points, shape))
        os.makedirs(os.path.join(root, "fixations"), exist_ok=True)
        if points_as == "txt":
            with open(os.path.join(root, "fixations", name + ".txt"), "w") as f:
                f.write("# x, y (0-based)\n" + "".join("{}, {}\n".format(x, y) for x, y in points))
        elif points_as == "npy":
            np.save(os.path.join(root, "fixations", name + ".npy"), points)
        else:
            fixmap = np.zeros(shape, np.uint8)
            fixmap[points[:, 1], points[:, 0]] = 1  # a 0/1 PNG
            _write(os.path.join(root, "fixations", name + ".png"), fixmap)
        truth[name] = points.astype(np.float64)
    return truth
