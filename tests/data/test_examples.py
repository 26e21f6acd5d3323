"""The documented layouts (docs/datasets.md) and the example writers agree file by file, the loaders read the
examples back, the page's own .mat snippet is read as documented, and the common wrong forms of a SALICON
file get messages that say what was expected."""
import os
import re

import numpy as np
import pytest
import scipy.io

from edge_saliency.data import detect_layout, examples, find_samples, load_sample
from edge_saliency.data.io import read_fixations
from edge_saliency.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "datasets.md")


def _doc():
    with open(DOC, encoding="utf-8") as f:
        return f.read()


def documented_patterns(layout):
    match = re.search(r"<!-- layout: {} -->\n```text\n(.*?)```".format(layout), _doc(), re.S)
    assert match, "docs/datasets.md has no file block for " + layout
    return [line.strip() for line in match.group(1).splitlines() if line.strip()]


def _regex(pattern):
    parts = re.split(r"(<[a-z]+>)", pattern)
    return re.compile("".join("[^/]+" if p.startswith("<") else re.escape(p) for p in parts) + "$")


def _write_variants(layout, root):
    """{folder: truth} for every variant of the layout's example (the folder layout: each kind of points file)."""
    if layout != "folder":
        return {root: examples.WRITERS[layout](root)}
    return {os.path.join(root, kind): examples.write_folder(os.path.join(root, kind), points_as=kind)
            for kind in examples.FOLDER_POINTS}


def _flat(truth):
    if all(isinstance(v, dict) for v in truth.values()):  # SALICON: {split: {name: points}}
        return {name: points for split in truth.values() for name, points in split.items()}
    return truth


def _sorted_points(points):
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return points[np.lexsort((points[:, 1], points[:, 0]))]


@pytest.mark.parametrize("layout", sorted(examples.WRITERS))
def test_each_documented_layout_is_what_its_example_writes_and_the_loader_reads(layout, tmp_path):
    patterns = {p: _regex(p) for p in documented_patterns(layout)}
    matched = set()
    for folder, truth in _write_variants(layout, str(tmp_path)).items():
        for path in examples.written_files(folder):
            hits = [p for p, rx in patterns.items() if rx.match(path)]
            assert hits, "{} writes {}, which docs/datasets.md does not show".format(layout, path)
            matched.update(hits)
        assert detect_layout(folder) == layout
        splits = ["train", "val"] if layout == "salicon" else ["all"]
        files = [f for split in splits for f in find_samples(folder, "auto", split, need=("map", "fixations"))]
        expected = _flat(truth)
        assert sorted(f.name for f in files) == sorted(expected)
        for f in files:
            np.testing.assert_array_equal(_sorted_points(load_sample(f).fixations), _sorted_points(expected[f.name]))
    assert matched == set(patterns), "documented but never written: {}".format(set(patterns) - matched)


def test_the_documented_mat_snippet_is_read_as_documented(tmp_path, monkeypatch):
    block = re.search(r"```python\n(.*?)```", _doc().split("## SALICON", 1)[1], re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "docs/datasets.md", "exec"), {})
    # 1-based (x, y) -> 0-based; nothing falls outside a 60x80 image
    points = read_fixations(str(tmp_path / "COCO_val2014_000000000042.mat"), (60, 80))
    np.testing.assert_array_equal(points, [[39, 29], [41, 30], [11, 49]])
    # in a 49x41 image (height x width) the 1-based x = 42 and y = 50 fall outside and are dropped
    np.testing.assert_array_equal(read_fixations(str(tmp_path / "COCO_val2014_000000000042.mat"), (49, 41)),
                                  [[39, 29]])


def test_the_example_command_writes_a_new_folder_only(tmp_path, capsys):
    assert examples.main(["cat2000", str(tmp_path / "cat")]) == 0
    assert "wrote a cat2000 example dataset: 12 files" in capsys.readouterr().out
    assert examples.main(["cat2000", str(tmp_path / "cat")]) == 1
    assert "is not empty" in capsys.readouterr().err


# -- wrong forms of a SALICON file -----------------------------------------------------------------------


POINTS = np.array([[10, 20], [30, 40]])


@pytest.mark.parametrize("gaze,message", [
    ([{"location": POINTS, "timestamp": np.arange(2), "fixations": POINTS}] * 2,
     r"'gaze' is a cell array of 2 structs \(what scipy.io.savemat writes for a list of dicts\), not a struct "
     r"array; a SALICON file holds 'gaze' as a struct array .* \(location, timestamp, fixations\)"),
    (POINTS, r"'gaze' is a 2×2 int64 array, not a struct array; .* use the folder layout"),
    ({"x": POINTS[:, 0], "y": POINTS[:, 1]}, r"'gaze' has the fields \(x, y\) and no 'fixations'"),
    ({"location": POINTS, "timestamp": 0, "fixations": np.arange(10).reshape(2, 5)},
     r"have shape \(2, 5\); expected N×2 \(x, y\); it looks transposed"),
])
def test_wrong_forms_say_what_was_expected(tmp_path, gaze, message):
    path = str(tmp_path / "wrong.mat")
    scipy.io.savemat(path, {"gaze": gaze})
    with pytest.raises(UserError, match=message):
        read_fixations(path, (60, 80))


def test_a_single_observer_struct_and_fields_in_another_order_are_read(tmp_path):
    path = str(tmp_path / "one.mat")
    scipy.io.savemat(path, {"gaze": {"fixations": POINTS, "location": POINTS, "timestamp": np.arange(2)}})
    np.testing.assert_array_equal(read_fixations(path, (60, 80)), POINTS - 1)
