"""``edge-saliency convert-official``: the released EML-Net checkpoints (res_imagenet.pth, res_places.pth,
res_decoder.pth) → one ``.safetensors`` model with its sidecar, ready for ``predict``, ``eval``, ``export`` and
``run``.

    edge-saliency convert-official res_imagenet.pth res_places.pth res_decoder.pth -o emlnet-official.safetensors
"""
import argparse
import os
from typing import Any

from .common import add_subcommand


def register(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "convert-official", run, help="convert the released EML-Net checkpoints to one .safetensors model",
        description="Read the three files the official EML-Net code releases (ResNet-50 ImageNet encoder, ResNet-50 "
                    "Places encoder, decoder; torch.save files, loaded with weights_only=True; a {'state_dict': ...} "
                    "wrapper and DataParallel 'module.' prefixes are accepted) and write them as the preset "
                    "emlnet-resnet50-official: OUT.safetensors and its sidecar OUT.safetensors.json. The model "
                    "gives the official maps with the official pre-processing (Pillow bilinear resize).",
    )
    parser.add_argument("imagenet", metavar="IMAGENET", help="res_imagenet.pth (the ImageNet ResNet-50 encoder)")
    parser.add_argument("places", metavar="PLACES", help="res_places.pth (the Places365 ResNet-50 encoder)")
    parser.add_argument("decoder", metavar="DECODER", help="res_decoder.pth (the decoder)")
    parser.add_argument("-o", "--out", default="emlnet-official.safetensors", metavar="OUT.safetensors",
                        help="output model (default emlnet-official.safetensors)")


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError

    if not args.out.endswith(".safetensors"):
        raise UserError("the output must be a .safetensors path, got {}".format(args.out))
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise UserError("output folder does not exist: {}".format(folder))
    from ..models.build import build_model
    from ..models.source import ModelSource
    from ..models.weights import save_model

    model = build_model(ModelSource.official_checkpoints(args.imagenet, args.places, args.decoder))
    save_model(model, args.out)
    print("wrote {} ({}, pre-processing {}) and its sidecar {}.json".format(
        args.out, model.config.name, model.config.preprocess, args.out))
    return 0
