"""A real test clip without downloads: slow pans and zooms over the photos scikit-image ships in its wheel
(astronaut, coffee, chelsea the cat, rocket). ``edge-saliency sample-clip OUT.mp4`` writes one, so the
README's quick start works on a fresh machine; the tests make theirs the same way."""
import math
from typing import Any, Iterator, List, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..errors import UserError
from ..files.atomic import atomic_output, check_writable
from .video import verify_video, video_fourcc

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def load_photos(names: Sequence[str] = PHOTOS) -> List[np.ndarray]:
    """The scikit-image photos as BGR uint8."""
    data = require("skimage.data", extra="dev", purpose="the sample clip (real photos shipped with scikit-image)")
    photos = []
    for name in names:
        if not hasattr(data, name):
            raise UserError("scikit-image has no photo {!r}".format(name))
        rgb = np.asarray(getattr(data, name)())
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[:, :, None], 3, axis=2)
        photos.append(np.ascontiguousarray(rgb[:, :, 2::-1]))
    return photos


def _camera(t: float, photo_size: Tuple[int, int], aspect: float, segment: int) -> Tuple[float, float, float]:
    """(centre x, centre y, crop width) at time t in [0, 1] of a segment: zoom in or out while panning."""
    ph, pw = photo_size
    full_w = min(pw, ph * aspect)
    ease = 0.5 - 0.5 * math.cos(math.pi * t)
    zoom_in = segment % 2 == 0
    scale = 1.0 - 0.4 * (ease if zoom_in else 1.0 - ease)
    crop_w = full_w * scale
    crop_h = crop_w / aspect
    # pan across the free room, left to right on even segments, top to bottom otherwise
    room_x, room_y = (pw - crop_w) / 2.0, (ph - crop_h) / 2.0
    direction = 1.0 if zoom_in else -1.0
    cx = pw / 2.0 + direction * room_x * (2.0 * ease - 1.0) * 0.9
    cy = ph / 2.0 + direction * room_y * (1.0 - 2.0 * ease) * 0.9
    return cx, cy, crop_w


def sample_frames(frames: int = 96, size: Tuple[int, int] = (240, 320),
                  photos: Sequence[str] = PHOTOS) -> Iterator[np.ndarray]:
    """``frames`` BGR uint8 frames of (height, width) ``size``: each photo in turn, panned and zoomed."""
    cv2 = require("cv2", purpose="the sample clip")
    if frames < 1:
        raise UserError("--frames must be at least 1, got {}".format(frames))
    height, width = int(size[0]), int(size[1])
    images = load_photos(photos)
    per_photo = max(1, int(math.ceil(frames / len(images))))
    for i in range(frames):
        segment = min(i // per_photo, len(images) - 1)
        image = images[segment]
        t = (i - segment * per_photo) / max(1, per_photo - 1)
        cx, cy, crop_w = _camera(t, image.shape[:2], width / height, segment)
        s = crop_w / width  # photo pixels per output pixel
        matrix = np.array([[s, 0.0, cx - s * width / 2.0], [0.0, s, cy - s * height / 2.0]], dtype=np.float64)
        yield cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT)


def write_sample_clip(path: str, frames: int = 96, size: Tuple[int, int] = (240, 320), fps: float = 24.0,
                      photos: Sequence[str] = PHOTOS) -> str:
    """Write the clip to ``path`` (.mp4, .mkv, .mov or .avi) atomically; returns ``path``."""
    cv2 = require("cv2", purpose="the sample clip")
    fourcc = video_fourcc(path)
    check_writable(path, "sample clip")
    height, width = int(size[0]), int(size[1])
    output = atomic_output(path, what="sample clip")
    output.verify = lambda tmp: verify_video(output, lambda: frames, (height, width))
    with output as tmp:
        writer: Any = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*fourcc), float(fps), (width, height))
        if not writer.isOpened():
            raise UserError("cannot write {} with codec {}".format(path, fourcc))
        try:
            for frame in sample_frames(frames, size, photos):
                writer.write(frame)
        finally:
            writer.release()
    return path
