"""Our final maps vs the official EML-Net script's, from the same image files (astronaut, chelsea, coffee and
the shrinking hubble_deep_field, the real photos scikit-image ships).

The official path is re-implemented step by step in ``tests/official_reference.py`` (Pillow resize + ToTensor,
the network from the state dicts, ``skimage.filters.gaussian(pred, 5)``, ``astype(np.uint8)``). The weights are
an ``emlnet-resnet50-official`` model whose BatchNorm statistics were measured on other real photos and then
perturbed (``tests/realistic_weights.py``), written in the official checkpoint layout — the released files
cannot be downloaded here, and random statistics would give nearly constant maps.

Compared, each as CC and max |difference| in grey levels:

- ``predict --map-size model`` vs the official 480×640 map (exact comparison);
- ``predict`` (image size, the default) vs the official map resized (bilinear) to the image;
- the runtime (``edge-saliency run`` on the image file, its map at frame size) with the model's own
  pre-processing and with each fast OpenCV mode, vs the official map resized to the image, and vs the runtime's
  own map with the official input (which isolates what the pre-processing alone changes);
- with ``--before DIR`` (a tree of an older edge-saliency, e.g. ``git archive 54a0641 edge_saliency | tar -x -C
  DIR``), the same for that version's ``predict`` and runtime.

    python benchmarks/official_path.py [--before DIR] [--out benchmarks/results/official_path_cpu.md]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg")


def photo_paths():
    import skimage

    return [os.path.join(os.path.dirname(skimage.__file__), "data", name) for name in PHOTOS]


def _predict(predict_files, model, files, files_dir, **kwargs):
    """``predict``'s first map: through the runners (this version), or the in-memory model (older ones)."""
    try:
        from edge_saliency.models.source import ModelSource
        from edge_saliency.prediction.predict import open_model
    except ImportError:
        return next(predict_files(model, files, device="cpu", workers=0, **kwargs))["saliency"]
    source = ModelSource.official_checkpoints(*(os.path.join(files_dir, "res_{}.pth".format(k))
                                                for k in ("imagenet", "places", "decoder")))
    with open_model(source, device="cpu") as opened:
        return next(predict_files(opened, files, workers=0, **kwargs))["saliency"]


def dump(files_dir, out, modes):
    """Maps of the edge-saliency on sys.path (old or new), for every photo: ``predict`` at the image size (and
    at the model size where supported), and the runtime per pre-processing mode ("model": the model's own)."""
    import cv2
    import torch

    from edge_saliency.capture.sources import open_source
    from edge_saliency.data.datasets import SampleFiles
    from edge_saliency.models import load_official_emlnet
    from edge_saliency.outputs.maps import MapsSink
    from edge_saliency.pipeline.options import PipelineOptions
    from edge_saliency.pipeline.pipeline import Pipeline
    from edge_saliency.prediction.predict import predict_files
    from edge_saliency.runners import create_runner

    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    model = load_official_emlnet(*(os.path.join(files_dir, "res_{}.pth".format(k))
                                   for k in ("imagenet", "places", "decoder")))
    maps = {}
    for path in photo_paths():
        name = os.path.splitext(os.path.basename(path))[0]
        files = [SampleFiles(name, path)]
        maps[name + "/predict"] = _predict(predict_files, model, files, files_dir)
        if "model" in modes:
            maps[name + "/predict-model"] = _predict(predict_files, model, files, files_dir, map_size="model")
        for mode in modes:
            runner = create_runner(model, "torch", device="cpu").activate()
            options = PipelineOptions() if mode in ("model", "old") else PipelineOptions(preprocess=mode)
            with tempfile.TemporaryDirectory() as folder, open_source(path) as source:
                Pipeline([source], runner, [MapsSink(folder, "png")], options).run()
                written = glob.glob(os.path.join(folder, "*.png"))
                maps["{}/run-{}".format(name, mode)] = cv2.imread(written[0], cv2.IMREAD_UNCHANGED)
            runner.deactivate()
    np.savez_compressed(out, **maps)


def _compare(ours, reference):
    from edge_saliency.maths import metrics

    diff = np.abs(ours.astype(np.int64) - reference.astype(np.int64))
    return metrics.cc(ours.astype(np.float64), reference.astype(np.float64)), int(diff.max())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", metavar="DIR", help="a tree holding an older edge_saliency package")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "official_path_cpu.md"))
    parser.add_argument("--dump", metavar="OUT.npz", help=argparse.SUPPRESS)  # internal: run in a subprocess
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--modes", default="model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        return dump(args.files, args.dump, args.modes.split(","))

    import cv2
    import torch

    sys.path.insert(0, ROOT)
    from edge_saliency.files.atomic import atomic_write_text
    from edge_saliency.models import create_model
    from tests.official_reference import official_map, save_official_files
    from tests.realistic_weights import realistic_batchnorm

    work = tempfile.mkdtemp(prefix="official-path-")
    torch.manual_seed(0)
    model = realistic_batchnorm(create_model("emlnet-resnet50-official"), (480, 640))
    files = save_official_files(model, work)
    official = {os.path.splitext(os.path.basename(p))[0]: official_map(p, files) for p in photo_paths()}

    runs = {"after": (ROOT, "model,opencv-area,opencv-linear")}
    if args.before:
        runs["before"] = (os.path.abspath(args.before), "old")
    dumps = {}
    for label, (tree, modes) in runs.items():
        out = os.path.join(work, label + ".npz")
        env = dict(os.environ, PYTHONPATH=tree)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--dump", out, "--files", work, "--modes", modes],
                       check=True, env=env, cwd=work)
        dumps[label] = dict(np.load(out))

    rows = []
    for name, reference in official.items():
        after = dumps["after"]
        image_size = after[name + "/predict"].shape
        resized = cv2.resize(reference, (image_size[1], image_size[0]), interpolation=cv2.INTER_LINEAR)
        cells = {"predict --map-size model vs official": _compare(after[name + "/predict-model"], reference)}
        if "before" in dumps:
            cells["before: predict vs official (resized)"] = _compare(dumps["before"][name + "/predict"], resized)
            cells["before: run vs official (resized)"] = _compare(dumps["before"][name + "/run-old"], resized)
        cells["predict vs official (resized)"] = _compare(after[name + "/predict"], resized)
        own = after[name + "/run-model"]
        cells["run (pillow-bilinear) vs official (resized)"] = _compare(own, resized)
        for mode in ("opencv-area", "opencv-linear"):
            cells["run ({}) vs official (resized)".format(mode)] = _compare(after[name + "/run-" + mode], resized)
            cells["run ({}) vs run (pillow-bilinear)".format(mode)] = _compare(after[name + "/run-" + mode], own)
        rows.append((name, reference.shape, image_size, cells))

    lines = ["# Our final maps vs the official EML-Net script (same image files)", "",
             "`emlnet-resnet50-official` with BatchNorm statistics measured on real photos, then perturbed "
             "(tests/realistic_weights.py), written as the three official checkpoint files; the official path is "
             "tests/official_reference.py. Each cell: CC / max |difference| in grey levels (0..255). "
             "\"official (resized)\": the official 480×640 map resized bilinearly to the image, for maps at the "
             "image's size. Command: `python benchmarks/official_path.py{}`.".format(
                 " --before DIR" if args.before else ""), ""]
    columns = list(rows[0][3])
    lines.append("| comparison | " + " | ".join("{} ({}×{})".format(n, s[0], s[1]) for n, _, s, _ in rows) + " |")
    lines.append("|---|" + "---|" * len(rows))
    for column in columns:
        lines.append("| {} | {} |".format(column, " | ".join(
            "{:.4f} / {}".format(*row[3][column]) for row in rows)))
    lines.append("")
    atomic_write_text(args.out, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
