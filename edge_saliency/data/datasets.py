"""Dataset layouts: which image goes with which continuous map and which fixations.

Supported layouts (``layout=``; ``"auto"`` tells them apart by their folders), documented with an example
of each in docs/datasets.md (``edge_saliency.data.examples`` writes them):

``salicon``  (as the official EML-Net loader reads it)
    ``ROOT/images/<split>/NAME.jpg``, ``ROOT/maps/<split>/NAME.png`` (grey continuous map),
    ``ROOT/fixations/<split>/NAME.mat`` (variable ``gaze``: one struct per observer whose third field,
    ``fixations``, holds N×2 (x, y) 1-based; made 0-based, points outside the image dropped).
``mit1003``
    ``ROOT/ALLSTIMULI/NAME.jpeg``, ``ROOT/ALLFIXATIONMAPS/NAME_fixMap.jpg`` (continuous map) and
    ``ROOT/ALLFIXATIONMAPS/NAME_fixPts.jpg`` (binary fixation map).
``cat2000``
    ``ROOT/Stimuli/<Category>/NNN.jpg``, ``ROOT/FIXATIONMAPS/<Category>/NNN.jpg`` (continuous map) and,
    when present, ``ROOT/FIXATIONLOCS/<Category>/NNN.mat`` (variable ``fixLocs``, a binary map). Sample
    names are ``<Category>/NNN``.
``folder``   (anything else)
    ``ROOT/images[/<split>]/NAME.<image>``, ``ROOT/maps[/<split>]/NAME.<image>`` (continuous maps) and
    ``ROOT/fixations[/<split>]/NAME.<ext>``: a binary fixation-map image, a ``.npy`` / ``.txt`` / ``.csv``
    of 0-based (x, y) points, or a ``.mat`` (SALICON ``gaze`` or ``fixLocs``). Maps and fixations are
    optional folders.

Splits: SALICON and folder datasets with split sub-folders use them (``train``, ``val``, ...). Datasets
without split folders (MIT1003, CAT2000, a flat folder) have ``all`` and a fixed split: every 10th image in
name order is ``val``, the others ``train``.

When an annotation folder exists, every image must have its file there; a missing folder is an error only
when the caller needs that annotation (training needs both).
"""
import dataclasses
import glob
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import UserError
from .io import IMAGE_EXTENSIONS, MAT_EXTENSIONS, POINT_EXTENSIONS, read_fixations, read_image_rgb, read_map

LAYOUTS = ("auto", "salicon", "mit1003", "cat2000", "folder")
VAL_EVERY = 10  # datasets without split folders: every 10th image (sorted by name) is "val"
FIXATION_EXTENSIONS = MAT_EXTENSIONS + POINT_EXTENSIONS + IMAGE_EXTENSIONS
MAP_EXTENSIONS = (".png",) + tuple(e for e in IMAGE_EXTENSIONS if e != ".png")


@dataclasses.dataclass(frozen=True)
class SampleFiles:
    """The files of one image; ``name`` identifies it within the dataset (``Category/NNN`` for CAT2000)."""

    name: str
    image: str
    map: Optional[str] = None
    fixations: Optional[str] = None


@dataclasses.dataclass
class Sample:
    name: str
    image: np.ndarray  # H×W×3 uint8 RGB
    density: Optional[np.ndarray]  # H×W float32 in [0, 1], the continuous ground-truth map
    fixations: Optional[np.ndarray]  # N×2 float64 (x, y), 0-based pixels of the image

    @property
    def shape(self) -> Tuple[int, int]:
        """(height, width) of the image."""
        return int(self.image.shape[0]), int(self.image.shape[1])


def read_annotations(files: SampleFiles, shape: Sequence[int]) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """(density, fixations) of one image of ``shape``; the density must have the image's size."""
    density = None
    if files.map is not None:
        density = read_map(files.map)
        if density.shape != tuple(shape):
            raise UserError("map {} is {}×{} but its image {} is {}×{}; they must have the same size".format(
                files.map, density.shape[0], density.shape[1], files.image, shape[0], shape[1]))
    fixations = read_fixations(files.fixations, shape) if files.fixations is not None else None
    return density, fixations


def load_sample(files: SampleFiles) -> Sample:
    """Read one sample: the RGB image, its continuous map and its fixations."""
    image = read_image_rgb(files.image)
    density, fixations = read_annotations(files, image.shape[:2])
    return Sample(files.name, image, density, fixations)


# -- finding the files ---------------------------------------------------------------------------------


def _is_dir(path: str) -> bool:
    return os.path.isdir(path)


def _images_in(folder: str, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> Dict[str, str]:
    """{stem: path} of the image files directly in ``folder`` (first extension in ``extensions`` order wins)."""
    found: Dict[str, str] = {}
    entries = sorted(os.listdir(folder))
    for ext in extensions:
        for entry in entries:
            stem, e = os.path.splitext(entry)
            if e.lower() == ext and stem not in found and os.path.isfile(os.path.join(folder, entry)):
                found[stem] = os.path.join(folder, entry)
    return found


def _unmatched_error(missing: List[str], what: str, where: str, expected: str) -> UserError:
    shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
    return UserError("{} image(s) have no {} in {} ({}); expected {} — add the files or remove those images".format(
        len(missing), what, where, shown, expected))


def _match(
    images: Dict[str, str], folder: str, kind: str, expected: str, lookup: Dict[str, str]
) -> Dict[str, str]:
    missing = sorted(stem for stem in images if stem not in lookup)
    if missing:
        raise _unmatched_error(missing, kind, folder, expected)
    return lookup


def _split_subset(names: List[str], split: str, root: str) -> List[str]:
    names = sorted(names)
    if split == "all":
        return names
    if split == "train":
        return [n for i, n in enumerate(names) if i % VAL_EVERY]
    if split == "val":
        return [n for i, n in enumerate(names) if not i % VAL_EVERY]
    raise UserError("{} has no split folders; use split all, train or val (every {}th image is val), "
                    "not {!r}".format(root, VAL_EVERY, split))


def _split_folders(root: str, sub: str) -> List[str]:
    base = os.path.join(root, sub)
    return sorted(d for d in os.listdir(base) if _is_dir(os.path.join(base, d))) if _is_dir(base) else []


def _require_dir(path: str, what: str) -> None:
    if not _is_dir(path):
        raise UserError("{} folder not found: {}".format(what, path))


def _salicon_or_folder(root: str, split: str, need: Sequence[str], salicon: bool) -> List[SampleFiles]:
    _require_dir(os.path.join(root, "images"), "images")
    splits = [s for s in _split_folders(root, "images") if _images_in(os.path.join(root, "images", s))]
    if splits or salicon:
        if split not in splits:
            raise UserError("split {!r} not found: {} has {}".format(
                split, os.path.join(root, "images"), ", ".join(splits) or "no split folders"))
        sub, subset = split, None
    else:  # a flat folder dataset
        sub, subset = "", split
    image_dir = os.path.join(root, "images", sub)
    images = _images_in(image_dir)
    if not images:
        raise UserError("no images ({}) in {}".format(" ".join(IMAGE_EXTENSIONS), image_dir))
    if subset is not None:
        keep = set(_split_subset(list(images), subset, root))
        images = {k: v for k, v in images.items() if k in keep}
    found: Dict[str, Dict[str, str]] = {}
    for kind, folder_name, extensions in (("map", "maps", MAP_EXTENSIONS),
                                          ("fixations", "fixations", FIXATION_EXTENSIONS)):
        folder = os.path.join(root, folder_name, sub)
        if not _is_dir(folder):
            if kind in need:
                raise UserError("{} folder not found: {} (needed: {})".format(folder_name, folder, " and ".join(need)))
            continue
        if salicon:
            extensions = (".png",) if kind == "map" else (".mat",)
        expected = "NAME{}".format(extensions[0] if len(extensions) == 1 else " with one of " + " ".join(extensions))
        found[kind] = _match(images, folder, kind, expected, _images_in(folder, extensions))
    return [
        SampleFiles(stem, images[stem], found.get("map", {}).get(stem), found.get("fixations", {}).get(stem))
        for stem in sorted(images)
    ]


def _mit1003(root: str, split: str, need: Sequence[str]) -> List[SampleFiles]:
    stimuli, maps = os.path.join(root, "ALLSTIMULI"), os.path.join(root, "ALLFIXATIONMAPS")
    _require_dir(stimuli, "MIT1003 ALLSTIMULI")
    images = _images_in(stimuli)
    if not images:
        raise UserError("no images in {}".format(stimuli))
    images = {k: images[k] for k in _split_subset(list(images), split, root)}
    if not _is_dir(maps):
        if need:
            raise UserError("MIT1003 ALLFIXATIONMAPS folder not found: {}".format(maps))
        return [SampleFiles(stem, images[stem]) for stem in sorted(images)]
    files = _images_in(maps, (".jpg", ".jpeg", ".png"))
    lookups = {}
    for kind, suffix in (("map", "_fixMap"), ("fixations", "_fixPts")):
        lookup = {stem[: -len(suffix)]: path for stem, path in files.items() if stem.endswith(suffix)}
        lookups[kind] = _match(images, maps, kind, "NAME{}.jpg".format(suffix), lookup)
    return [SampleFiles(stem, images[stem], lookups["map"][stem], lookups["fixations"][stem])
            for stem in sorted(images)]


def _cat2000(root: str, split: str, need: Sequence[str]) -> List[SampleFiles]:
    stimuli = os.path.join(root, "Stimuli")
    _require_dir(stimuli, "CAT2000 Stimuli")
    images: Dict[str, str] = {}
    for category in _split_folders(root, "Stimuli"):
        for stem, path in _images_in(os.path.join(stimuli, category)).items():
            images["{}/{}".format(category, stem)] = path
    if not images:
        raise UserError("no images in {}/<Category>/".format(stimuli))
    images = {k: images[k] for k in _split_subset(list(images), split, root)}
    lookups: Dict[str, Dict[str, str]] = {}
    for kind, folder_name, extensions in (("map", "FIXATIONMAPS", (".jpg", ".png")),
                                          ("fixations", "FIXATIONLOCS", (".mat",))):
        folder = os.path.join(root, folder_name)
        if not _is_dir(folder):
            if kind in need:
                raise UserError("CAT2000 {} folder not found: {} (needed: {})".format(
                    folder_name, folder, " and ".join(need)))
            continue
        lookup = {}
        for category in _split_folders(root, folder_name):
            for stem, path in _images_in(os.path.join(folder, category), extensions).items():
                lookup["{}/{}".format(category, stem)] = path
        lookups[kind] = _match(images, folder, kind, "<Category>/NNN{}".format(extensions[0]), lookup)
    return [
        SampleFiles(name, images[name], lookups.get("map", {}).get(name), lookups.get("fixations", {}).get(name))
        for name in sorted(images)
    ]


def detect_layout(root: str) -> str:
    """The layout of a dataset root by its folders: ``mit1003``, ``cat2000``, ``salicon`` or ``folder``
    (docs/datasets.md)."""
    if _is_dir(os.path.join(root, "ALLSTIMULI")):
        return "mit1003"
    if _is_dir(os.path.join(root, "Stimuli")):
        return "cat2000"
    if _is_dir(os.path.join(root, "images")):
        if glob.glob(os.path.join(root, "fixations", "*", "*.mat")) and _split_folders(root, "images"):
            return "salicon"
        return "folder"
    raise UserError("cannot tell the dataset layout of {}: expected images/ (SALICON or folder layout), "
                    "ALLSTIMULI/ (MIT1003) or Stimuli/ (CAT2000)".format(root))


def find_samples(
    root: str, layout: str = "auto", split: str = "train", need: Sequence[str] = ()
) -> List[SampleFiles]:
    """The files of every image of ``split``, sorted by name.

    ``need``: annotations that must exist (``"map"``, ``"fixations"``); training needs both.
    """
    if not _is_dir(root):
        raise UserError("dataset folder not found: {}".format(root))
    if layout not in LAYOUTS:
        raise UserError("unknown dataset layout {!r}; valid layouts: {}".format(layout, ", ".join(LAYOUTS)))
    layout = detect_layout(root) if layout == "auto" else layout
    if layout in ("salicon", "folder"):
        return _salicon_or_folder(root, split, need, salicon=layout == "salicon")
    if layout == "mit1003":
        return _mit1003(root, split, need)
    return _cat2000(root, split, need)
