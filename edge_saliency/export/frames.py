"""Real frames for parity checks, INT8 calibration and the accuracy report.

Sources (a string, as given on the command line):

- ``photos``: the built-in calibration photos shipped in the scikit-image wheel (15 images; different
  photos from the held-out set below);
- a folder of images (``.jpg .jpeg .png .bmp .tif .tiff .webp``, sorted by name, not recursive);
- a dataset root in the SALICON layout with a split, ``ROOT`` + ``split="val"`` → ``ROOT/images/val``
  (until the dataset loaders land, any layout works by pointing at its image folder);
- a video file (anything OpenCV's ``VideoCapture`` opens): frames are taken evenly over the video.

Frames are H×W×3 RGB uint8. The held-out photos (:data:`HELD_OUT_PHOTOS`) are never calibration frames:
parity and accuracy are measured on them.
"""
import hashlib
import logging
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..errors import UserError
from ..maths.preprocess import read_image, to_rgb

log = logging.getLogger("edge_saliency")

NamedImage = Tuple[str, np.ndarray]  # (name, H×W×3 RGB uint8)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
BUILTIN_CALIBRATION = "photos"
# natural photos for parity and the accuracy report (never used for calibration)
HELD_OUT_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle")
# other scikit-image images, for calibration without a dataset (grey ones repeated to RGB)
CALIBRATION_PHOTOS = (
    "immunohistochemistry", "hubble_deep_field", "retina", "colorwheel", "logo", "camera", "brick", "grass",
    "gravel", "coins", "moon", "clock", "cell", "page", "text",
)
RECOMMENDED_CALIBRATION_FRAMES = 100


def _skimage_photo(name: str) -> np.ndarray:
    data = require("skimage.data", extra="export", purpose="the scikit-image photos used for parity checks")
    image = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (image > 0).astype(np.uint8) * 255 if image.dtype == bool else image.astype(np.uint8)
    return np.ascontiguousarray(to_rgb(image))


def photos(names: Sequence[str] = HELD_OUT_PHOTOS) -> List[NamedImage]:
    """scikit-image photos by name (RGB uint8)."""
    return [(name, _skimage_photo(name)) for name in names]


def image_folder(folder: str, max_frames: Optional[int] = None) -> List[NamedImage]:
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise UserError(
            "no images in {} (looked for {}); pass a folder of images, a video file or 'photos'".format(
                folder, " ".join(IMAGE_EXTENSIONS)
            )
        )
    if max_frames and len(names) > max_frames:  # evenly over the sorted list
        names = [names[int(i)] for i in np.linspace(0, len(names) - 1, max_frames).round()]
    return [(name, read_image(os.path.join(folder, name))) for name in names]


def video_frames(path: str, max_frames: Optional[int] = None) -> List[NamedImage]:
    """Up to ``max_frames`` frames taken evenly over the video (every k-th decodable frame)."""
    cv2 = require("cv2", purpose="reading video")
    capture = cv2.VideoCapture(os.fspath(path))
    if not capture.isOpened():
        raise UserError("cannot open {} as a video (not a video format OpenCV reads?)".format(path))
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        step = max(1, count // max_frames) if (max_frames and count > 0) else 1
        frames: List[NamedImage] = []
        index = 0
        while not max_frames or len(frames) < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            if index % step == 0 and frame is not None and frame.size:
                frames.append(("{}#{}".format(os.path.basename(path), index), np.ascontiguousarray(frame[:, :, ::-1])))
            index += 1
    finally:
        capture.release()
    if not frames:
        raise UserError("no decodable frames in {}".format(path))
    return frames


def load_frames(source: str, max_frames: Optional[int] = None, split: Optional[str] = None) -> List[NamedImage]:
    """Frames from ``source`` (see the module docstring); a clear error for an empty or unreadable one."""
    if source == BUILTIN_CALIBRATION:
        frames = photos(CALIBRATION_PHOTOS)
        return frames[:max_frames] if max_frames else frames
    if not os.path.exists(source):
        raise UserError("frame source not found: {} (a folder of images, a video file, or 'photos')".format(source))
    if os.path.isdir(source):
        folder = source
        if split:
            folder = os.path.join(source, "images", split)
            if not os.path.isdir(folder):
                raise UserError(
                    "no split {!r} in {}: expected the SALICON layout ROOT/images/{}/".format(split, source, split)
                )
        return image_folder(folder, max_frames)
    if split:
        raise UserError("a split ({!r}) needs a dataset folder, got the file {}".format(split, source))
    return video_frames(source, max_frames)


def frames_digest(inputs: Sequence[np.ndarray]) -> str:
    """sha256 over pre-processed model inputs: identical frames, size and pre-processing → same digest."""
    digest = hashlib.sha256()
    for x in inputs:
        digest.update(str(x.shape).encode())
        digest.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    return digest.hexdigest()


def warn_if_few(count: int, what: str = "calibration frames", warn: Callable[[str], None] = log.warning) -> None:
    if count < RECOMMENDED_CALIBRATION_FRAMES:
        warn(
            "only {} {}: INT8 ranges from fewer than ~{} frames may not cover what the model sees; pass a "
            "folder, video or dataset split with more".format(count, what, RECOMMENDED_CALIBRATION_FRAMES)
        )


def describe_source(source: str, split: Optional[str] = None) -> Dict[str, Optional[str]]:
    return {"source": source if source == BUILTIN_CALIBRATION else os.path.abspath(source), "split": split}
