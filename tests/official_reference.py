"""The official EML-Net inference path, re-written step by step from its documented operations (the official
eval_combined.py, resnet.py and decoder.py, read for facts; none of our model or pre/post-processing code):

1. ``Image.open(path).convert('RGB')``, ``transforms.Resize((480, 640))`` and ``transforms.ToTensor()``
   (torchvision on a Pillow image);
2. each ResNet-50 encoder in decode mode: conv1/bn1/relu → out0, maxpool, layer1..4 → out1..4, each tap
   through its readout Conv3×3 + BN + ReLU (straight from the state dicts, functional calls);
3. the decoder: per map Conv3×3 + BN + ReLU, ``F.interpolate`` to (480, 640) (nearest, its default), concat
   (ImageNet maps, then Places maps), Conv3×3 + BN + Sigmoid;
4. ``post_process``: ``skimage.filters.gaussian(pred, 5)`` (default mode), ``x -= x.min()``,
   ``x /= x.max()``, ``(x * 255).astype(np.uint8)``.

Also writes a model in the official checkpoint layout (what the official training scripts torch.save).
"""
import collections
import os

import numpy as np
import torch
import torch.nn.functional as F

OFFICIAL_SIZE = (480, 640)


def _bn(x, s, p):
    stats = s[p + "running_mean"], s[p + "running_var"]
    return F.batch_norm(x, *stats, s[p + "weight"], s[p + "bias"], training=False, eps=1e-5)


def _bottleneck(x, s, p, stride, downsample):
    out = F.relu(_bn(F.conv2d(x, s[p + "conv1.weight"]), s, p + "bn1."))
    out = F.relu(_bn(F.conv2d(out, s[p + "conv2.weight"], stride=stride, padding=1), s, p + "bn2."))
    out = _bn(F.conv2d(out, s[p + "conv3.weight"]), s, p + "bn3.")
    if downsample:
        x = _bn(F.conv2d(x, s[p + "downsample.0.weight"], stride=stride), s, p + "downsample.1.")
    return F.relu(out + x)


def official_readouts(x, s):
    """The official encoder in decode mode: [out0 .. out4] after Conv3x3 + BN + ReLU, before any resize."""
    taps = []
    x = F.relu(_bn(F.conv2d(x, s["conv1.weight"], stride=2, padding=3), s, "bn1."))
    taps.append(x)
    x = F.max_pool2d(x, 3, 2, 1)
    for layer, blocks in zip((1, 2, 3, 4), (3, 4, 6, 3)):
        for b in range(blocks):
            stride = 2 if (b == 0 and layer > 1) else 1
            x = _bottleneck(x, s, "layer{}.{}.".format(layer, b), stride, downsample=(b == 0))
        taps.append(x)
    return [
        F.relu(_bn(F.conv2d(t, s["output{}.0.weight".format(i)], s["output{}.0.bias".format(i)], padding=1), s,
                   "output{}.1.".format(i)))
        for i, t in enumerate(taps)
    ]


def official_decoder(img_maps, pla_maps, d):
    resized = []
    for prefix, maps in (("img_model", img_maps), ("pla_model", pla_maps)):
        for i, m in enumerate(maps):
            p = "{}.{}.".format(prefix, i)
            m = F.relu(_bn(F.conv2d(m, d[p + "0.weight"], d[p + "0.bias"], padding=1), d, p + "1."))
            resized.append(F.interpolate(m, size=OFFICIAL_SIZE, mode="nearest"))
    x = torch.cat(resized, 1)
    return torch.sigmoid(_bn(F.conv2d(x, d["combined.0.weight"], d["combined.0.bias"], padding=1), d, "combined.1."))


def official_stage1(x, s, size):
    maps = official_readouts(x, s)
    first = maps[0].shape[-2:]
    x = torch.cat([F.interpolate(m, size=first, mode="nearest") for m in maps], 1)
    x = torch.sigmoid(_bn(F.conv2d(x, s["combined.0.weight"], s["combined.0.bias"], padding=1), s, "combined.1."))
    return F.interpolate(x, size=size, mode="nearest")


def official_input(path):
    """Step 1: the official script's input tensor for an image file, 1×3×480×640."""
    from PIL import Image
    from torchvision import transforms

    preprocess = transforms.Compose([transforms.Resize(OFFICIAL_SIZE), transforms.ToTensor()])
    return preprocess(Image.open(path).convert("RGB")).unsqueeze(0)


def official_post_process(pred):
    """Step 4: eval_combined.py's post_process."""
    from skimage import filters

    pred = filters.gaussian(pred, 5)
    pred -= pred.min()
    pred /= pred.max()
    return (pred * 255).astype(np.uint8)


def load_official(path):
    """What the official loaders do with a released file: unwrap 'state_dict', drop the 7-character
    'module.' prefix (resnet.py's k[7:]); weights_only for safety here."""
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" in loaded:
        loaded = loaded["state_dict"]
    return {(k[7:] if k.startswith("module.") else k): v for k, v in loaded.items()}


def official_map(image_path, files):
    """The official eval_combined.py's 480×640 uint8 map of an image file, from the three checkpoint files."""
    x = official_input(image_path)
    imagenet, places, decoder = (load_official(files[k]) for k in ("imagenet", "places", "decoder"))
    with torch.no_grad():
        pred = official_decoder(official_readouts(x, imagenet), official_readouts(x, places), decoder)
    return official_post_process(pred.squeeze().numpy())


def save_official_files(model, folder):
    """Write an ``emlnet-resnet50-official`` model as the three released files: encoders with DataParallel
    'module.' keys (output<i> readouts, 'combined' head), the decoder as {'state_dict': ...} with
    img_model / pla_model / combined keys. Returns {"imagenet", "places", "decoder"} -> path."""
    files = {}
    for key in ("imagenet", "places"):
        state = collections.OrderedDict()
        for name, value in model.encoders[key].state_dict().items():
            name = name.replace("backbone.model.", "", 1).replace("head.", "combined.", 1)
            if name.startswith("readouts."):
                _, index, rest = name.split(".", 2)
                name = "output{}.{}".format(index, rest)
            state["module." + name] = value.clone()
        files[key] = os.path.join(str(folder), "res_{}.pth".format(key))
        torch.save(state, files[key])
    decoder = collections.OrderedDict()
    for name, value in model.decoder.state_dict().items():
        if name.startswith("blocks."):
            _, index, rest = name.split(".", 2)
            name = "{}.{}.{}".format("img_model" if int(index) < 5 else "pla_model", int(index) % 5, rest)
        else:
            name = name.replace("fuse.", "combined.", 1)
        decoder[name] = value.clone()
    files["decoder"] = os.path.join(str(folder), "res_decoder.pth")
    torch.save({"state_dict": decoder}, files["decoder"])
    return files
