"""``edge-saliency eval``: score a model, or a folder of saved maps, on a dataset split with every saliency
metric; writes a JSON file and a markdown table beside it.

    edge-saliency eval runs/fused/best.safetensors --data SALICON --split val -o results/salicon-val.json
    edge-saliency eval maps/ --data MIT1003 --split all --convention pysaliency
"""
import argparse
import os
from typing import Any

from .common import add_dataset_arguments, add_model_arguments, add_subcommand


def register(subparsers: Any) -> None:
    from ..metrics import ALL_METRICS, CONVENTIONS, MIT
    from ..postprocess import OFFICIAL_SIGMA

    parser = add_subcommand(
        subparsers, "eval", run, help="score a model or a folder of saved maps on a dataset split (all metrics)",
        description="Score MODEL on a dataset split with AUC-Judd, AUC-Borji, shuffled AUC, NSS, CC, KLD, SIM and "
                    "IG, at each image's own size after the official post-processing (blur sigma 5 px at "
                    "480x640, min-max, uint8). MODEL may also be a folder of saved maps (NAME.png per image, as "
                    "'predict' writes them). Writes OUT (JSON) and the markdown table beside it (.md).",
    )
    add_model_arguments(parser, what="the model, or a folder of saved maps")
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
    group.add_argument("--save-maps", metavar="DIR", help="also write the post-processed maps (NAME.png) to DIR")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from .._lazy import require
    from ..data.datasets import find_samples
    from ..errors import UserError
    from ..evaluation import check_metrics, evaluate, saved_maps, write_report

    metrics = check_metrics([m.strip() for m in args.metrics.split(",") if m.strip()])
    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1, got {}".format(args.limit))
    files = find_samples(args.data, args.layout or "auto", args.split)
    files = files[: args.limit] if args.limit else files
    tqdm = require("tqdm", extra="train", purpose="the progress bar").tqdm
    results = {"model": args.model, "dataset": os.path.abspath(args.data), "split": args.split}
    if os.path.isdir(args.model):
        given = [flag for flag, value in (("--weights", args.weights), ("--size", args.input_size),
                                          ("--save-maps", args.save_maps)) if value]
        if given:
            raise UserError("{} is a folder of saved maps; {} only apply to models".format(
                args.model, ", ".join(given)))
        predictions = saved_maps(args.model, files)
        results["source"] = "saved maps"
    else:
        predictions = _model_predictions(args, files)
        results["source"] = "model"
        results["postprocess"] = "blur sigma {} px at 480x640, min-max, uint8, at the image's size".format(args.sigma)
    with tqdm(total=len(files), disable=args.no_progress, leave=False, unit="img", desc="eval") as bar:
        results.update(evaluate(predictions, files, metrics, args.convention, args.ig_baseline, args.sauc_others,
                                args.seed, args.per_image, progress=bar.update))
    json_path, md_path = write_report(results, args.out)
    for metric, value in results["metrics"].items():
        if not value["degenerate"]:
            print("{:<18} {:.4f}".format(metric, value["mean"]))
        else:  # the benchmark's mean is NaN; say why and what the other images give
            rest = value["mean_excluding_degenerate"]
            print("{:<18} NaN ({} of {} images degenerate; {} without them)".format(
                metric, value["degenerate"], value["images"], "n/a" if rest is None else "{:.4f}".format(rest)))
    print("wrote {} and {}".format(json_path, md_path))
    return 0


def _model_predictions(args: argparse.Namespace, files: Any) -> Any:
    import cv2

    from ..atomic import atomic_write_bytes
    from ..inference import load_inference_model, predict_files, warn_if_untrained

    model, trained = load_inference_model(args.model, args.weights, args.input_size)
    warn_if_untrained(trained, args.model)
    for item in predict_files(model, files, args.device, args.batch_size, args.workers, args.sigma,
                              annotations=True):
        if args.save_maps:
            ok, png = cv2.imencode(".png", item["saliency"])
            assert ok
            atomic_write_bytes(os.path.join(args.save_maps, item["name"] + ".png"), png.tobytes())
        yield item
