"""The evaluation report and the comparison screen (edge_saliency.data.reports)."""
from edge_saliency.data.reports import compare, comparison_lines, markdown_report


def _result(mean, size=(96, 128), preprocess="opencv-area", saved=False):
    metrics = {"cc": {"mean": mean, "std": 0.1, "images": 3, "degenerate": 0, "degenerate_images": [],
                      "mean_excluding_degenerate": mean, "std_excluding_degenerate": 0.1}}
    result = {"metrics": metrics, "images": 3}
    if not saved:
        result["model_info"] = {"input_size": list(size), "preprocess": preprocess}
    return result


def _results(*models):
    labels = ["m{}".format(i) for i in range(len(models))]
    return {"models": list(models), "comparison": compare(labels, list(models))}


def test_the_screen_shows_each_models_input_size_and_preprocessing():
    lines = comparison_lines(_results(_result(0.5), _result(0.6), _result(0.7, saved=True)))
    assert lines[1].split() == ["input", "96x128", "96x128", "saved", "maps"]
    assert lines[2].split() == ["pre-processing", "opencv-area", "opencv-area", "saved", "maps"]
    assert lines[3].split() == ["CC", "0.5000", "0.6000", "(+0.1000)", "0.7000", "(+0.2000)"]
    assert not any(line.startswith("note:") for line in lines)  # shared: no note


def test_the_screen_says_when_the_models_do_not_share_size_or_preprocessing():
    size = comparison_lines(_results(_result(0.5), _result(0.6, size=(256, 320))))
    assert size[-1] == "note: the models do not share their input size: the differences include it"
    both = comparison_lines(_results(_result(0.5), _result(0.6, size=(256, 320), preprocess="pillow-bilinear")))
    assert both[-1] == "note: the models do not share their input size or pre-processing: the differences include it"


def test_the_report_names_the_images_excluded_for_every_model():
    results = _results(_result(0.5), _result(0.6))
    results.update({"dataset": "d", "split": "val", "images": 3, "convention": "mit", "averaging": "a",
                    "conventions": {}, "excluded": [{"file": "/data/images/b.jpg", "reason": "truncated"}]})
    results["models"] = [dict(m, model="m{}".format(i)) for i, m in enumerate(results["models"])]
    for m in results["models"]:
        m["model_info"].update(file={"preset": "x"}, weights=None, backend="onnxruntime", precision="fp32")
    assert "- excluded (unreadable, for every model): 1 (b.jpg)" in markdown_report(results)
