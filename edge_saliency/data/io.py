"""Readers for the files of saliency datasets: images, continuous maps, fixations (numpy + OpenCV + scipy).

Fixations are returned as an N×2 float array of (x, y) 0-based pixel coordinates in the image they belong
to, with points outside the image dropped. Readers raise :class:`~edge_saliency.errors.UserError` with the
path for anything unreadable.
"""
import os
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..errors import UnreadableInputError, UserError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
POINT_EXTENSIONS = (".npy", ".txt", ".csv")
MAT_EXTENSIONS = (".mat",)


def _cv2() -> Any:
    return require("cv2", purpose="reading images")


def _jpeg_complete(data: bytes) -> bool:
    """Walk a JPEG's segments to its end-of-image marker (entropy-coded data skipped)."""
    position, size = 2, len(data)
    while position + 2 <= size:
        if data[position] != 0xFF:
            return False
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            return True
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            position += 2
            continue
        if position + 4 > size:
            return False
        position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
        if marker == 0xDA:  # scan data: up to the next marker that is not a stuffed 0xFF00 or a restart
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= size:
                    return False
                following = data[position + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    position += 2
                elif following == 0xFF:
                    position += 1
                else:
                    break
    return False


def image_data_problem(data: bytes) -> Optional[str]:
    """Why the bytes of an image file are incomplete (a JPEG without its end marker, a PNG without its IEND
    chunk), or None. libjpeg would decode a truncated JPEG anyway, filling the missing part with grey."""
    if data[:2] == b"\xff\xd8":
        if data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9") or _jpeg_complete(data):
            return None
        return "a truncated JPEG (it ends before its end-of-image marker)"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        position = 8
        while position + 8 <= len(data):
            length, kind = int.from_bytes(data[position:position + 4], "big"), data[position + 4:position + 8]
            position += 12 + length
            if kind == b"IEND":
                return None if position <= len(data) else "a truncated PNG"
        return "a truncated PNG (it ends before its IEND chunk)"
    return None


def image_problem(path: str) -> Optional[str]:
    """:func:`image_data_problem` of a file, or why it cannot be read at all."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return exc.strerror or str(exc)
    return image_data_problem(data)


def _decode(path: str, flags: int) -> np.ndarray:
    cv2 = _cv2()
    try:
        data = np.fromfile(path, dtype=np.uint8)  # also reads non-ASCII paths, unlike cv2.imread on Windows
    except OSError as exc:
        raise UnreadableInputError("cannot read {}: {}".format(path, exc.strerror or exc)) from None
    problem = image_data_problem(data.tobytes()) if data.size else None
    if problem is not None:  # before decoding: libjpeg would fill a truncated JPEG with grey
        raise UnreadableInputError("cannot read image {}: {}".format(path, problem))
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise UnreadableInputError("cannot read image {}: not an image OpenCV can decode, or the file is "
                                   "truncated".format(path))
    return image


def read_image_rgb(path: str) -> np.ndarray:
    """An image file as H×W×3 uint8 RGB (grey and RGBA images are converted)."""
    cv2 = _cv2()
    image = _decode(path, cv2.IMREAD_COLOR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_grey(path: str) -> np.ndarray:
    """A grey image as stored (uint8 or uint16, H×W); colour images are converted to grey."""
    cv2 = _cv2()
    return _decode(path, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)


def read_map(path: str) -> np.ndarray:
    """A grey map (PNG/JPEG, 8 or 16 bit; colour images are converted to grey) as H×W float32 in [0, 1]."""
    image = read_grey(path)
    scale = float(np.iinfo(image.dtype).max) if np.issubdtype(image.dtype, np.integer) else 1.0
    return image.astype(np.float32) / scale


def map_to_points(fixation_map: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(x, y) of the pixels of a binary fixation map at or above ``threshold`` × its maximum.

    The relative threshold reads 0/1 and 0/255 maps alike, and ignores the faint ringing that JPEG
    compression (MIT1003's ``*_fixPts.jpg``, CAT2000's maps) leaves around isolated points.
    """
    fixation_map = np.asarray(fixation_map)
    peak = float(fixation_map.max()) if fixation_map.size else 0.0
    if peak <= 0:
        return np.zeros((0, 2), dtype=np.float64)
    rows, cols = np.nonzero(fixation_map >= threshold * peak)
    return np.stack([cols, rows], axis=1).astype(np.float64)


def keep_inside(points: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Points with 0 ≤ x < width and 0 ≤ y < height."""
    h, w = int(shape[0]), int(shape[1])
    inside = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
    return points[inside]


def _loadmat(path: str) -> dict:
    sio = require("scipy.io", purpose="reading .mat fixation files")
    try:
        return sio.loadmat(path)
    except NotImplementedError:  # MATLAB v7.3 files are HDF5
        raise UserError("cannot read {}: MATLAB v7.3 (HDF5) .mat files are not supported; re-save it with "
                        "save(..., '-v7')".format(path)) from None
    except Exception as exc:  # ValueError / TypeError / OSError on a broken file
        raise UnreadableInputError("cannot read .mat file {}: {}".format(path, exc)) from None


_SALICON_GAZE = ("a SALICON file holds 'gaze' as a struct array with one element per observer and the fields "
                 "(location, timestamp, fixations), fixations N×2 (x, y) 1-based")


def _wrong_gaze(gaze: np.ndarray, path: str) -> UserError:
    """The message for a ``gaze`` variable that is not a struct array, naming what it is instead."""
    if gaze.dtype == object:
        cells = [c for c in gaze.ravel() if isinstance(c, np.ndarray)]
        if cells and all(c.dtype.names for c in cells):
            return UserError("{}: 'gaze' is a cell array of {} structs (what scipy.io.savemat writes for a list of "
                             "dicts), not a struct array; {} — in Python a numpy structured array, np.zeros((N, 1), "
                             "dtype=[('location', 'O'), ('timestamp', 'O'), ('fixations', 'O')])".format(
                                 path, len(cells), _SALICON_GAZE))
        return UserError("{}: 'gaze' is a cell array, not a struct array; {}".format(path, _SALICON_GAZE))
    return UserError("{}: 'gaze' is a {} {} array, not a struct array; {} (for plain 0-based point lists use the "
                     "folder layout: fixations/NAME.txt or .npy)".format(
                         path, "×".join(str(d) for d in gaze.shape), gaze.dtype, _SALICON_GAZE))


def _salicon_gaze_points(gaze: np.ndarray, path: str) -> np.ndarray:
    """The fixations of every observer of a SALICON ``gaze`` struct array, 1-based (x, y)."""
    names = gaze.dtype.names or ()
    if not names:
        raise _wrong_gaze(gaze, path)
    if len(names) < 3 and "fixations" not in names:
        raise UserError("{}: 'gaze' has the fields ({}) and no 'fixations'; {}; the fixations are read from the "
                        "field named fixations, else the third field (as the official loader does)".format(
                            path, ", ".join(names), _SALICON_GAZE))
    field = "fixations" if "fixations" in names else names[2]  # the official loader takes the third field
    chunks = []
    for observer in gaze.ravel():
        points = np.asarray(observer[field])
        if points.size == 0:
            continue
        if points.dtype == object or not np.issubdtype(points.dtype, np.number):
            raise UserError("{}: an observer's '{}' holds {} values; expected an N×2 numeric array of (x, y)".format(
                path, field, points.dtype))
        if points.ndim != 2 or points.shape[1] != 2:
            hint = "; it looks transposed: store N×2 (x, y), one fixation per row" if points.shape[:1] == (2,) else ""
            raise UserError("{}: an observer's fixations have shape {}; expected N×2 (x, y){}".format(
                path, points.shape, hint))
        chunks.append(points.astype(np.float64))
    return np.concatenate(chunks) if chunks else np.zeros((0, 2), dtype=np.float64)


def read_fixations_mat(path: str, shape: Sequence[int]) -> np.ndarray:
    """Fixations of a ``.mat`` file as 0-based (x, y) inside an image of ``shape`` (height, width).

    SALICON: variable ``gaze``, a struct array with one element per observer whose third field
    (``fixations``) holds N×2 (x, y) 1-based pixel coordinates; they are made 0-based and points outside
    the image are dropped. CAT2000 / MIT-style: variable ``fixLocs``, a binary fixation map.
    """
    mat = _loadmat(path)
    if "gaze" in mat:
        points = _salicon_gaze_points(mat["gaze"], path) - 1.0
        return keep_inside(points, shape)
    if "fixLocs" in mat:
        return read_fixation_map_array(np.asarray(mat["fixLocs"]), shape, path)
    variables = sorted(k for k in mat if not k.startswith("__"))
    raise UserError("{} holds neither 'gaze' (SALICON) nor 'fixLocs' (CAT2000); it has {}".format(path, variables))


def read_fixation_map_array(fixation_map: np.ndarray, shape: Sequence[int], path: str) -> np.ndarray:
    if fixation_map.ndim == 3:
        fixation_map = fixation_map.max(axis=2)
    if tuple(fixation_map.shape) != tuple(int(s) for s in shape):
        raise UserError("fixation map {} is {}×{} but its image is {}×{}; they must have the same size".format(
            path, fixation_map.shape[0], fixation_map.shape[1], shape[0], shape[1]))
    return map_to_points(fixation_map)


def read_points_file(path: str, shape: Sequence[int]) -> np.ndarray:
    """An N×2 array of 0-based (x, y) from ``.npy`` or a text file (``.txt`` / ``.csv``: one "x y" or "x,y"
    per line, '#' comments); points outside the image are dropped."""
    try:
        if path.endswith(".npy"):
            points = np.load(path, allow_pickle=False)
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read().replace(",", " ")
            rows = [line.split("#")[0].split() for line in text.splitlines()]
            points = np.array([[float(v) for v in row] for row in rows if row], dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise UserError("cannot read fixation points {}: {}".format(path, exc)) from None
    points = np.asarray(points, dtype=np.float64)
    if points.size == 0:
        return np.zeros((0, 2), dtype=np.float64)
    points = np.atleast_2d(points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise UserError("fixation points {} have shape {}; expected N×2 (x, y)".format(path, points.shape))
    return keep_inside(points, shape)


def read_fixations(path: str, shape: Sequence[int]) -> np.ndarray:
    """Fixations of any supported file, as 0-based (x, y) inside an image of ``shape``:
    ``.mat`` (SALICON ``gaze`` / CAT2000 ``fixLocs``), a binary fixation map image, or a points file."""
    ext = os.path.splitext(path)[1].lower()
    if ext in MAT_EXTENSIONS:
        return read_fixations_mat(path, shape)
    if ext in POINT_EXTENSIONS:
        return read_points_file(path, shape)
    if ext in IMAGE_EXTENSIONS:
        return read_fixation_map_array(_decode(path, _cv2().IMREAD_GRAYSCALE), shape, path)
    raise UserError("unknown fixation file type {}: use .mat, an image ({}) or points ({})".format(
        path, " ".join(IMAGE_EXTENSIONS), " ".join(POINT_EXTENSIONS)))


def image_shape(path: str) -> Tuple[int, int]:
    """(height, width) of an image file (decodes it)."""
    image = read_image_rgb(path)
    return int(image.shape[0]), int(image.shape[1])
