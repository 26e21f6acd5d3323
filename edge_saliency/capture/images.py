"""Image sources: an image file, a folder of images (natural order) or a glob; unreadable or truncated images
are skipped with a warning and counted."""
import glob
import logging
import os
import re
from typing import Any, List, Optional

from ..data.io import image_problem
from ..errors import UserError
from .source import Source, SourceFrame, opencv
from .uri import IMAGE_EXTENSIONS, parse_uri

log = logging.getLogger("edge_saliency.capture")


def _natural_key(path: str) -> List[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path)]


class ImageSource(Source):
    """An image file, a folder of images (natural order) or a glob; unreadable images are skipped."""

    kind = "images"

    def __init__(self, uri: str, target: str, fps: Optional[float] = None, loop: bool = False) -> None:
        super().__init__(uri)
        self.target = target
        self.fps = fps or 10.0
        self.loop = loop
        self.paths: List[str] = []
        self._position = 0
        self._index = 0
        self._pending: Optional[SourceFrame] = None

    def open(self) -> "ImageSource":
        """List the images and read the first readable one; UserError when none can be read."""
        self.paths = list_images(self.target)
        self.frame_count = len(self.paths)
        self._pending = self.read()
        if self._pending is None:
            raise UserError("none of the {} image(s) in {} can be read".format(len(self.paths), self.target))
        self.size = (int(self._pending.image.shape[0]), int(self._pending.image.shape[1]))
        self.opened = True
        return self

    def read(self) -> Optional[SourceFrame]:
        """The next readable image (unreadable ones are skipped with a warning), or None at the end."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        cv2 = opencv()
        while not self.stop_event.is_set():
            if self._position >= len(self.paths):
                if not self.loop or self._index == 0:
                    return None
                self._position = 0
            path = self.paths[self._position]
            self._position += 1
            problem = image_problem(path)  # before decoding: libjpeg fills a truncated JPEG with grey
            image = cv2.imread(path, cv2.IMREAD_COLOR) if problem is None else None
            if image is None:
                self.skipped += 1
                log.warning("skipping %s: %s", path, problem or "not an image OpenCV can read")
                continue
            frame = SourceFrame(image, self._index, round(self._index / self.fps, 6),
                          os.path.splitext(os.path.basename(path))[0])
            self._index += 1
            return frame
        return None


def list_images(target: str) -> List[str]:
    """The image files of an image source (a file, a folder, a glob), in natural order."""
    if os.path.isdir(target):
        paths = [os.path.join(target, n) for n in os.listdir(target)
                 if os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS]
        if not paths:
            raise UserError("no images in folder {} (looked for {})".format(target, " ".join(IMAGE_EXTENSIONS)))
    elif any(c in target for c in "*?[") and not os.path.exists(target):
        paths = [p for p in glob.glob(target) if os.path.isfile(p)]
        if not paths:
            raise UserError("no files match {}".format(target))
    else:
        if not os.path.isfile(target):
            raise UserError("image not found: {}".format(target))
        paths = [target]
    return sorted(paths, key=_natural_key)


def source_paths(uri: str) -> List[str]:
    """The files and folders a source reads (none for cameras and streams), without opening it."""
    spec = parse_uri(uri)
    if spec.kind == "file":
        return [spec.target]
    if spec.kind != "images":
        return []
    folder = [spec.target] if os.path.isdir(spec.target) else []
    try:
        return folder + list_images(spec.target)
    except UserError:  # opening the source says what is wrong
        return folder


def image_names(uri: str) -> Optional[List[str]]:
    """The frame names (file stems) an image source gives, None for other sources."""
    spec = parse_uri(uri)
    if spec.kind != "images":
        return None
    try:
        return [os.path.splitext(os.path.basename(p))[0] for p in list_images(spec.target)]
    except UserError:
        return []
