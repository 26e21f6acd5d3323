"""The evaluation report: markdown and JSON of one model's scores, and the comparison of several models on the same
images."""
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..files.atomic import atomic_write_text
from .evaluation import HIGHER_IS_BETTER, LABELS


def markdown_report(results: Dict[str, Any]) -> str:
    """The evaluation results as a markdown table, with the conventions used."""
    if "comparison" in results:
        return comparison_markdown(results)
    lines = ["# Saliency evaluation", ""]
    for key in ("model", "dataset", "split", "images", "convention", "postprocess"):
        if key in results:
            lines.append("- {}: {}".format(key, results[key]))
    lines += _excluded_lines(results)
    info = results.get("model_info")
    if info:
        lines += ["- model file: {}".format(_file_line(info["file"])),
                  "- weights: {}".format(_file_line(info["weights"]) if info["weights"] else "in the model file"),
                  "- input {}x{} ({}), pre-processing {}, {} {}".format(
                      info["input_size"][0], info["input_size"][1], info["input_size_from"], info["preprocess"],
                      info["backend"], info["precision"])]
    lines += ["", "| metric | mean | std | images | degenerate | mean excluding degenerate | better |",
              "|---|---|---|---|---|---|---|"]
    for metric, value in results["metrics"].items():
        lines.append("| {} | {} | {} | {} | {} | {} | {} |".format(
            LABELS[metric], _fmt(value["mean"]), _fmt(value["std"]), value["images"], value["degenerate"],
            _fmt(value["mean_excluding_degenerate"]) if value["degenerate"] else "",
            "higher" if HIGHER_IS_BETTER[metric] else "lower"))
    for metric, reason in results.get("not_scored", {}).items():
        lines.append("| {} | n/a | | 0 | | | {} |".format(LABELS[metric], reason))
    degenerate = {m: v["degenerate_images"] for m, v in results["metrics"].items() if v["degenerate"]}
    if degenerate:
        lines += ["", "Degenerate images (a score the reference code leaves undefined, NaN; see docs/metrics.md; "
                      "every name is in the JSON):", ""]
        lines += ["- {}: {}{}".format(LABELS[m], ", ".join(names[:5]), ", ..." if len(names) > 5 else "")
                  for m, names in degenerate.items()]
    lines += ["", "Averaging: {}.".format(results["averaging"])]
    lines += ["", "Conventions ({}):".format(results["convention"]), ""]
    lines += ["- {}: {}".format(LABELS[m], text) for m, text in results["conventions"].items()]
    settings = results["settings"]
    lines += ["", "sAUC negatives: fixations of {} other images of the split; IG baseline: {}; seed {}.".format(
        settings["auc_shuffled_other_images"], settings["information_gain_baseline"], settings["seed"]), ""]
    return "\n".join(lines)


def _excluded_lines(results: Dict[str, Any]) -> List[str]:
    excluded = results.get("excluded") or []
    if not excluded:
        return []
    names = [os.path.basename(e["file"]) for e in excluded]
    return ["- excluded (unreadable, for every model): {} ({}{})".format(
        len(names), ", ".join(names[:5]), ", ..." if len(names) > 5 else "")]


def _file_line(entry: Dict[str, Any]) -> str:
    if "file" in entry:
        return "{} (sha256 {})".format(entry["file"], entry["sha256"])
    if "preset" in entry:
        return "preset {}".format(entry["preset"])
    return ", ".join("{}: {}".format(k, v["file"] if isinstance(v, dict) else v) for k, v in entry["files"].items())


def _mean(value: Dict[str, Any]) -> Optional[float]:
    return value["mean"] if value["mean"] is not None else value["mean_excluding_degenerate"]


def compare(labels: Sequence[str], results: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Per metric, every model's mean and its difference to the first model's (the reference), on the same
    images; a mean that is NaN (degenerate images) compares the means excluding them and says so."""
    table: Dict[str, List[Dict[str, Any]]] = {}
    for metric in results[0]["metrics"]:
        reference = _mean(results[0]["metrics"][metric])
        rows = []
        for label, result in zip(labels, results):
            value = result["metrics"].get(metric)
            mean = _mean(value) if value else None
            rows.append({"model": label, "mean": mean,
                         "difference": None if mean is None or reference is None else mean - reference,
                         "excluding_degenerate": bool(value and value["degenerate"])})
        table[metric] = rows
    return {"reference": labels[0], "higher_is_better": {m: HIGHER_IS_BETTER[m] for m in table}, "metrics": table}


def comparison_lines(results: Dict[str, Any]) -> List[str]:
    """The comparison of a several-model ``results`` as aligned text lines (what ``eval A B ...`` prints): each
    model's input size and pre-processing, then the metrics, then a line when the models do not share them."""
    comparison = results["comparison"]
    labels = [row["model"] for row in next(iter(comparison["metrics"].values()))]
    infos = [model.get("model_info") for model in results["models"]]
    sizes = ["{}x{}".format(*i["input_size"]) if i else "saved maps" for i in infos]
    modes = [i["preprocess"] if i else "saved maps" for i in infos]
    cells = [["metric"] + labels, ["input"] + sizes, ["pre-processing"] + modes]
    for metric, rows in comparison["metrics"].items():
        line = [LABELS[metric]]
        for i, row in enumerate(rows):
            text = _fmt(row["mean"]) + ("*" if row["excluding_degenerate"] else "")
            if i and row["difference"] is not None:
                text += " ({:+.4f})".format(row["difference"])
            line.append(text)
        cells.append(line)
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip() for row in cells]
    if any(r["excluding_degenerate"] for rows in comparison["metrics"].values() for r in rows):
        lines.append("* mean excluding degenerate images (the benchmark's mean is NaN)")
    differ = [what for what, values in (("input size", sizes), ("pre-processing", modes))
              if len({v for v in values if v != "saved maps"}) > 1]
    if differ:
        lines.append("note: the models do not share their {}: the differences include it".format(
            " or ".join(differ)))
    return lines


def comparison_markdown(results: Dict[str, Any]) -> str:
    """Several models' results as one markdown table: each metric per model, with its difference to the first model."""
    comparison = results["comparison"]
    labels = [row["model"] for row in next(iter(comparison["metrics"].values()))]
    lines = ["# Saliency evaluation: {} models on the same images".format(len(labels)), "",
             "- dataset: {}".format(results["dataset"]), "- split: {}".format(results["split"]),
             "- images: {}".format(results["images"]), "- convention: {}".format(results["convention"]),
             *_excluded_lines(results), "",
             "Mean per metric; in brackets the difference to {}.".format(comparison["reference"]), "",
             "| metric | " + " | ".join(labels) + " | better |", "|---" * (len(labels) + 2) + "|"]
    for metric, rows in comparison["metrics"].items():
        texts = [_fmt(r["mean"]) + ("*" if r["excluding_degenerate"] else "") +
                 (" ({:+.4f})".format(r["difference"]) if i and r["difference"] is not None else "")
                 for i, r in enumerate(rows)]
        lines.append("| {} | {} | {} |".format(LABELS[metric], " | ".join(texts),
                                                "higher" if comparison["higher_is_better"][metric] else "lower"))
    lines += ["", "| model | file (sha256) | weights (sha256) | input | backend | precision | pre-processing |",
              "|---" * 7 + "|"]
    for label, model in zip(labels, results["models"]):
        info = model.get("model_info")
        if info is None:
            lines.append("| {} | {} | | | | | saved maps |".format(label, model["model"]))
            continue
        lines.append("| {} | {} | {} | {}x{} | {} | {} | {} |".format(
            label, _short(info["file"]), _short(info["weights"]) if info["weights"] else "in the file",
            info["input_size"][0], info["input_size"][1], info["backend"], info["precision"], info["preprocess"]))
    lines += ["", "Averaging: {}.".format(results["averaging"]), ""]
    lines += ["Conventions ({}):".format(results["convention"]), ""]
    lines += ["- {}: {}".format(LABELS[m], text) for m, text in results["conventions"].items()]
    return "\n".join(lines) + "\n"


def _short(entry: Dict[str, Any]) -> str:
    """A file entry of ``model_info`` in a table cell: its name and the start of its sha256."""
    if "file" in entry:
        return "{} ({})".format(os.path.basename(entry["file"]), entry["sha256"][:12])
    return "preset " + entry["preset"] if "preset" in entry else "official checkpoints"


def _fmt(value: Optional[float]) -> str:
    return "NaN" if value is None else "{:.4f}".format(value)


def write_report(results: Dict[str, Any], json_path: str) -> Tuple[str, str]:
    """``json_path`` and the markdown table beside it (same name, ``.md``); both atomically."""
    stem = json_path[:-5] if json_path.endswith(".json") else json_path
    md_path = stem + ".md"
    atomic_write_text(json_path, json.dumps(results, indent=2, allow_nan=False) + "\n")
    atomic_write_text(md_path, markdown_report(results))
    return json_path, md_path
