"""Scoring a split: degenerate images (NaN scores) are averaged as each benchmark does and named in the
report; the JSON stays valid JSON."""
import json
import math
import os

import cv2
import numpy as np
import pytest

from edge_saliency.cli import main
from edge_saliency.data.datasets import find_samples, read_annotations
from edge_saliency.data.evaluation import evaluate, summarise
from edge_saliency.data.io import image_shape
from edge_saliency.data.reports import markdown_report, write_report
from edge_saliency.errors import UserError
from edge_saliency.maths import metrics as M
from tests.saliency_fixtures import write_folder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("folder"))
    write_folder(root, count=4, shape=(30, 40))
    return root


def _predictions(files, constant=()):
    """Each image's own ground-truth map as its prediction, except the names in ``constant`` (a flat map)."""
    for f in files:
        shape = image_shape(f.image)
        density, fixations = read_annotations(f, shape)
        saliency = np.full(shape, 0.5) if f.name in constant else density.astype(np.float64)
        yield {"name": f.name, "saliency": saliency, "shape": shape, "density": density, "fixations": fixations}


def test_summarise_averages_like_the_benchmarks_and_names_the_degenerate_images():
    s = summarise({"a": 1.0, "b": float("nan"), "c": 3.0})
    assert s["mean"] is None and s["std"] is None and s["images"] == 3  # MATLAB's / numpy's mean: NaN
    assert s["degenerate"] == 1 and s["degenerate_images"] == ["b"]
    assert s["mean_excluding_degenerate"] == 2.0 and s["std_excluding_degenerate"] == 1.0
    clean = summarise({"a": 1.0, "c": 3.0})
    assert clean["mean"] == clean["mean_excluding_degenerate"] == 2.0 and clean["degenerate"] == 0
    assert summarise({"a": float("nan")})["mean_excluding_degenerate"] is None


def test_a_constant_prediction_is_degenerate_in_the_mit_convention(dataset, tmp_path):
    files = find_samples(dataset, "folder", "all")
    flat = files[1].name
    results = evaluate(_predictions(files, constant=[flat]), files, convention=M.MIT, ig_baseline="center",
                       per_image=True)
    metrics = results["metrics"]
    for name in ("auc_borji", "auc_shuffled", "nss", "cc", "sim", "information_gain"):
        assert metrics[name]["degenerate_images"] == [flat], name
        assert metrics[name]["mean"] is None and metrics[name]["images"] == 4
        others = [M.cc(p["saliency"], p["density"]) for p in _predictions(files) if p["name"] != flat]
        if name == "cc":  # the others predict their own map perfectly
            assert metrics[name]["mean_excluding_degenerate"] == pytest.approx(np.mean(others))
    # AUC-Judd jitters the flat map into a random one; KLD of a flat map against a density is defined
    assert metrics["auc_judd"]["degenerate"] == 0 and metrics["kld"]["degenerate"] == 0
    assert results["per_image"][flat]["nss"] is None
    json_path, md_path = write_report(results, str(tmp_path / "r.json"))
    assert json.load(open(json_path))["metrics"]["nss"]["mean"] is None  # strict JSON: null, never NaN
    table = open(md_path).read()
    assert "| NSS | NaN | NaN | 4 | 1 | " in table and "| AUC-Judd | 0." in table
    assert "- NSS: {}".format(flat) in table and "MATLAB mean" in table


def test_the_pysaliency_convention_scores_a_constant_prediction(dataset):
    files = find_samples(dataset, "folder", "all")
    flat = files[1].name
    results = evaluate(_predictions(files, constant=[flat]), files, convention=M.PYSALIENCY, ig_baseline="uniform",
                       per_image=True)
    degenerate = {m for m, v in results["metrics"].items() if v["degenerate"]}
    assert degenerate == {"auc_borji"}  # AUC-Borji has only the MIT form
    assert results["per_image"][flat]["nss"] == 0.0 and results["per_image"][flat]["cc"] == 0.0
    assert results["per_image"][flat]["auc_judd"] == 0.5


def test_images_without_fixations_follow_each_benchmark(dataset):
    files = find_samples(dataset, "folder", "all")

    def without_fixations_for_the_first(items):
        for item in items:
            if item["name"] == files[0].name:
                item = dict(item, fixations=np.zeros((0, 2)))
            yield item

    mit = evaluate(without_fixations_for_the_first(_predictions(files)), files, metrics=["nss", "cc"])
    assert mit["metrics"]["nss"]["degenerate_images"] == [files[0].name]  # NSS.m: mean([]) = NaN
    assert mit["metrics"]["cc"]["degenerate"] == 0
    pys = evaluate(without_fixations_for_the_first(_predictions(files)), files, metrics=["nss"],
                   convention=M.PYSALIENCY)
    assert pys["metrics"]["nss"]["images"] == 3 and pys["metrics"]["nss"]["degenerate"] == 0  # skipped


def test_a_uniform_ig_baseline_is_refused_in_the_mit_convention(dataset):
    files = find_samples(dataset, "folder", "all")
    with pytest.raises(UserError, match="--ig-baseline uniform"):
        evaluate(_predictions(files), files, convention=M.MIT, ig_baseline="uniform")
    # without IG the baseline does not matter
    assert evaluate(_predictions(files), files, metrics=["cc"], ig_baseline="uniform")["metrics"]["cc"]["mean"] == \
        pytest.approx(1.0)


def test_markdown_without_degenerate_images_has_no_list():
    results = {"metrics": {"cc": summarise({"a": 0.5})}, "convention": "mit", "averaging": "x", "conventions": {},
               "settings": {"auc_shuffled_other_images": 10, "information_gain_baseline": "center", "seed": 0}}
    table = markdown_report(results)
    assert "| CC | 0.5000 | 0.0000 | 1 | 0 |  | higher |" in table and "Degenerate images" not in table


def test_eval_cli_reports_degenerate_saved_maps(dataset, tmp_path, capsys):
    files = find_samples(dataset, "folder", "all")
    maps = tmp_path / "maps"
    maps.mkdir()
    for p in _predictions(files, constant=[files[2].name]):
        assert cv2.imwrite(str(maps / (p["name"] + ".png")), np.uint8(np.clip(p["saliency"] * 255, 0, 255)))
    out = str(tmp_path / "eval.json")
    assert main(["eval", str(maps), "--data", dataset, "--split", "all", "-o", out, "--no-progress",
                 "--metrics", "nss,cc", "--ig-baseline", "center"]) == 0
    printed = capsys.readouterr().out
    assert "nss                NaN (1 of 4 images degenerate; " in printed
    results = json.load(open(out))
    assert results["metrics"]["nss"]["degenerate_images"] == [files[2].name]
    assert math.isfinite(results["metrics"]["cc"]["mean_excluding_degenerate"])
    assert os.path.isfile(str(tmp_path / "eval.md"))
