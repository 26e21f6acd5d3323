"""Weights with realistic BatchNorm statistics for numeric tests of whole models.

Random initialisations keep BatchNorm's running statistics at mean 0 / variance 1, which do not match the
activations a real image produces: deep layers then explode or vanish, and the saliency map is nearly
constant, so parity checks and map comparisons measure little. :func:`realistic_batchnorm` measures every
BatchNorm's statistics from real photos (what a trained network has), then perturbs them so that the heads
produce maps that vary over the image. Used by the tests and by ``benchmarks/export_parity.py``.
"""
import numpy as np
import torch

from edge_saliency.export.frames import CALIBRATION_PHOTOS, photos
from edge_saliency.maths.preprocess import preprocess

# real photos for the statistics; never the held-out photos that parity checks use
STATISTICS_PHOTOS = ("hubble_deep_field", "immunohistochemistry", "retina", "brick")


def realistic_batchnorm(model, size, photo_names=STATISTICS_PHOTOS, seed=0, spread=0.3):
    """Set every BatchNorm of ``model`` to statistics measured on ``photo_names`` at ``size`` (pre-processed
    with the model's own mode), then perturb them by ``spread``: running mean shifted by
    ``spread`` × N(0, 1) standard deviations, running variance and scale multiplied by exp(``spread`` ×
    N(0, 1)), bias drawn from N(0, ``spread``). Returns the model in eval mode."""
    assert set(photo_names) <= set(CALIBRATION_PHOTOS)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the photos
        m.train()
    with torch.no_grad():
        for _, frame in photos(photo_names):
            model(torch.from_numpy(preprocess(frame, size, model.config.preprocess)))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in norms:
            m.eval()
            m.momentum = 0.1
            n = m.num_features
            std = m.running_var.sqrt()
            m.running_mean.add_(spread * std * torch.randn(n, generator=g))
            m.running_var.mul_(torch.exp(spread * torch.randn(n, generator=g)))
            m.weight.mul_(torch.exp(spread * torch.randn(n, generator=g)))
            m.bias.copy_(spread * torch.randn(n, generator=g))
    return model.eval()


def map_spread(model, size):
    """Standard deviation of the model's map on one held-out photo (a sanity check that it varies)."""
    _, frame = photos(("chelsea",))[0]
    with torch.no_grad():
        out = model(torch.from_numpy(preprocess(frame, size, model.config.preprocess)))
    return float(np.std(out.numpy()))
