"""``edge-saliency eval``: score a model — any kind the runtime runs — or a folder of saved maps on a dataset
split with every saliency metric; writes a JSON file and a markdown table beside it. Several models are
scored on the same images and compared, metric by metric, against the first (docs/evaluation.md).

    edge-saliency eval runs/fused/best.safetensors --data SALICON --split val -o results/salicon-val.json
    edge-saliency eval lite.onnx lite-fp16.onnx lite-int8.onnx --data SALICON --split val   # what fp16/int8 cost
    edge-saliency eval maps/ --data MIT1003 --split all --convention pysaliency
"""
import argparse
import logging
import os
from typing import Any, Dict, List, Optional, Tuple

from .common import INPUT_SKIPPED, add_dataset_arguments, add_model_arguments, add_subcommand


def register(subparsers: Any) -> None:
    from ..maths.metrics import ALL_METRICS, CONVENTIONS, MIT
    from ..maths.postprocess import OFFICIAL_SIGMA

    parser = add_subcommand(
        subparsers, "eval", run, help="score a model or a folder of saved maps on a dataset split (all metrics)",
        description="Score MODEL on a dataset split with AUC-Judd, AUC-Borji, shuffled AUC, NSS, CC, KLD, SIM and "
                    "IG, at each image's own size after the official post-processing (blur sigma 5 px at "
                    "480x640, min-max, uint8). MODEL runs through the backend 'run' uses, at its own input size "
                    "and with its own pre-processing (both printed); it may also be a folder of saved maps "
                    "(NAME.png per image, as 'predict' writes them). With several MODELs, each is scored on the "
                    "same images and a table compares every metric with the first MODEL's. Writes OUT (JSON) and "
                    "the markdown table beside it (.md).",
    )
    add_model_arguments(parser, what="the model, or a folder of saved maps", many=True)
    add_dataset_arguments(parser, split="val")
    parser.add_argument("-o", "--out", default="eval.json", metavar="FILE.json",
                        help="results JSON; the markdown table goes beside it as .md (default eval.json)")
    group = parser.add_argument_group("metrics")
    group.add_argument("--convention", choices=CONVENTIONS, default=MIT,
                       help="mit: the MIT benchmark's MATLAB code (std N-1, AUC-Judd jitter, SIM min-max); "
                            "pysaliency: the MIT/Tuebingen Python code (std N, exact ties); default mit")
    group.add_argument("--metrics", default=",".join(ALL_METRICS), metavar="LIST",
                       help="comma-separated subset of " + ", ".join(ALL_METRICS))
    group.add_argument("--ig-baseline", choices=("dataset", "center", "uniform"), default="dataset",
                       help="IG baseline: the mean ground-truth map of the other images (default), a centred "
                            "Gaussian, or uniform (pysaliency convention only)")
    group.add_argument("--sauc-others", type=int, default=10, metavar="N",
                       help="shuffled AUC negatives: fixations of N other images of the split (default 10)")
    group.add_argument("--seed", type=int, default=0, help="seed of Borji / shuffled AUC sampling and jitter")
    group.add_argument("--sigma", type=float, default=OFFICIAL_SIGMA,
                       help="post-processing blur sigma at 480x640 (default 5; 0: none); models only")
    group.add_argument("--limit", type=int, metavar="N", help="score the first N images of the split only")
    group.add_argument("--per-image", action="store_true", help="also store every image's scores in the JSON")
    group.add_argument("--save-maps", metavar="DIR",
                       help="also write the post-processed maps (NAME.png) to DIR (several models: DIR/MODEL/)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from .._lazy import require
    from ..data.datasets import find_samples
    from ..data.evaluation import check_metrics
    from ..data.reports import compare, comparison_lines, write_report
    from ..errors import UserError

    metrics = check_metrics([m.strip() for m in args.metrics.split(",") if m.strip()])
    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1, got {}".format(args.limit))
    files = find_samples(args.data, args.layout or "auto", args.split)
    files = files[: args.limit] if args.limit else files
    files, excluded = _readable(files, args.workers)
    labels = _labels(args.model)
    sources = _check(args, files, labels)
    tqdm = require("tqdm", extra="train", purpose="the progress bar").tqdm
    every: List[Dict[str, Any]] = []
    for model, label, source in zip(args.model, labels, sources):
        maps = None
        if args.save_maps:
            maps = args.save_maps if len(args.model) == 1 else os.path.join(args.save_maps, label)
        results = {"model": model, "dataset": os.path.abspath(args.data), "split": args.split}
        if excluded:
            results["excluded"] = excluded
        def new_bar(label: str = label) -> Any:
            return tqdm(total=len(files), disable=args.no_progress, leave=False, unit="img", desc=label)

        results.update(_score(args, model, source, files, metrics, maps, new_bar))
        every.append(results)
    if len(every) == 1:
        results = every[0]
        json_path, md_path = write_report(results, args.out)
        _print_means(results)
    else:
        first = every[0]
        results = {"dataset": first["dataset"], "split": args.split, "images": first["images"],
                   "convention": first["convention"], "averaging": first["averaging"],
                   "conventions": first["conventions"], "settings": first["settings"],
                   "models": every, "comparison": compare(labels, every)}
        if excluded:
            results["excluded"] = excluded
        json_path, md_path = write_report(results, args.out)
        print("\n".join(comparison_lines(results)))
    print("wrote {} and {}".format(json_path, md_path))
    if excluded:
        print("excluded {} unreadable image(s) for every model (exit status {}): {}".format(
            len(excluded), INPUT_SKIPPED, ", ".join(e["file"] for e in excluded)))
        return INPUT_SKIPPED
    return 0


def _readable(files: List[Any], workers: int) -> Tuple[List[Any], List[Dict[str, str]]]:
    """The samples whose image and annotations can be read, and the others (file, reason), each named in a
    warning: every model is scored on the same images, so one unreadable for any is left out for all."""
    from ..data.datasets import load_sample
    from ..data.images import prefetch
    from ..errors import UnreadableInputError

    def problem(index: int) -> Optional[str]:
        try:
            load_sample(files[index])
        except UnreadableInputError as exc:
            return str(exc)
        return None

    readable, excluded = [], []
    for sample, why in zip(files, prefetch(problem, len(files), workers, ahead=2 * max(1, workers))):
        if why is None:
            readable.append(sample)
        else:
            logging.getLogger("edge_saliency").warning("excluding %s from every model: %s", sample.image, why)
            excluded.append({"file": sample.image, "reason": why})
    if not readable:
        from ..errors import UserError

        raise UserError("none of the {} images of the split can be read".format(len(files)))
    return readable, excluded


def _labels(models: List[str]) -> List[str]:
    """Short, distinct names for the table: file names, or the paths as given where names repeat."""
    names = [os.path.basename(m.rstrip("/")) or m for m in models]
    return [name if names.count(name) == 1 else model for name, model in zip(names, models)]


def _check(args: argparse.Namespace, files: Any, labels: List[str]) -> List[Any]:
    """Options against the models, and the outputs against every input (the dataset's files, the models'),
    before anything runs. Returns each model's ModelSource (with ``--weights`` where it takes them; None for a
    folder of saved maps): the one parse of each model string."""
    from ..errors import UserError
    from ..files.checks import Output, check_outputs
    from ..models.source import ModelSource

    if len(set(labels)) != len(labels):
        raise UserError("a model is given twice: {}".format(", ".join(sorted({m for m in labels
                                                                              if labels.count(m) > 1}))))
    inputs = [p for f in files for p in (f.image, f.map, f.fixations) if p]
    takes_weights = False
    sources: List[Any] = []
    for model in args.model:
        if os.path.isdir(model):
            given = [flag for flag, value in (("--weights", args.weights), ("--size", args.input_size),
                                              ("--save-maps", args.save_maps)) if value]
            if given and len(args.model) == 1:
                raise UserError("{} is a folder of saved maps; {} only apply to models".format(
                    model, ", ".join(given)))
            inputs.append(model)
            sources.append(None)
            continue
        source = ModelSource.parse(model)
        if source.kind in ("preset", "config"):
            takes_weights = True
            if args.weights:
                source = source.with_weights(args.weights)
        sources.append(source)
        inputs += source.inputs()
    if args.weights and not takes_weights:
        raise UserError("--weights goes with a preset name or a config .json; {} hold{} {} weights".format(
            ", ".join(args.model), "s" if len(args.model) == 1 else "", "its" if len(args.model) == 1 else "their"))
    if args.weights:
        inputs.append(args.weights)
    outputs = [Output(args.out, "results JSON"), Output(_md_path(args.out), "results table")]
    if args.save_maps:
        for model, label in zip(args.model, labels):
            if os.path.isdir(model):
                continue
            folder = args.save_maps if len(args.model) == 1 else os.path.join(args.save_maps, label)
            outputs += [Output(os.path.join(folder, f.name + ".png"), "saved map") for f in files]
    check_outputs(outputs, inputs)
    return sources


def _md_path(json_path: str) -> str:
    return (json_path[:-5] if json_path.endswith(".json") else json_path) + ".md"


def _score(args: argparse.Namespace, model: str, source: Any, files: Any, metrics: Any, maps: Any,
           new_bar: Any) -> Dict[str, Any]:
    """One model's (or saved maps folder's) scores. ``new_bar()`` makes its progress bar, started only once the
    model is open, so that the model's lines are printed before the bar, never into it."""
    from ..data.evaluation import evaluate, saved_maps

    scoring = (metrics, args.convention, args.ig_baseline, args.sauc_others, args.seed, args.per_image)
    if os.path.isdir(model):
        results: Dict[str, Any] = {"source": "saved maps"}
        with new_bar() as bar:
            results.update(evaluate(saved_maps(model, files), files, *scoring, progress=bar.update))
        return results
    from ..prediction.predict import open_model

    with open_model(source, None, args.input_size, args.backend, args.device, args.precision) as opened:
        logging.getLogger("edge_saliency").info("%s", opened.describe())
        results = {"source": "model", "model_info": opened.record(),
                   "postprocess": "blur sigma {} px at 480x640, min-max, uint8, at the image's size".format(
                       args.sigma)}
        with new_bar() as bar:
            results.update(evaluate(_predictions(args, opened, files, maps), files, *scoring, progress=bar.update))
    return results


def _predictions(args: argparse.Namespace, opened: Any, files: Any, maps: Any) -> Any:
    import cv2

    from ..files.atomic import atomic_write_bytes
    from ..prediction.predict import predict_files

    for item in predict_files(opened, files, args.batch_size, args.workers, args.sigma, annotations=True):
        if maps:
            ok, png = cv2.imencode(".png", item["saliency"])
            assert ok
            atomic_write_bytes(os.path.join(maps, item["name"] + ".png"), png.tobytes())
        yield item


def _print_means(results: Dict[str, Any]) -> None:
    for metric, value in results["metrics"].items():
        if not value["degenerate"]:
            print("{:<18} {:.4f}".format(metric, value["mean"]))
        else:  # the benchmark's mean is NaN; say why and what the other images give
            rest = value["mean_excluding_degenerate"]
            print("{:<18} NaN ({} of {} images degenerate; {} without them)".format(
                metric, value["degenerate"], value["images"], "n/a" if rest is None else "{:.4f}".format(rest)))
