"""The EML-Net loss (docs/training.md, after the official EMLLoss.py), batched and differentiable.

For each sample, with P the prediction, Q the ground-truth density map and F the fixation map:

- KL  = Σ Q' · log(Q' / (P' + eps) + eps), P' = P / ΣP and Q' = Q / ΣQ (sum-normalised), eps = 1e-6;
- CC  = 1 − Σ zP · zQ / sqrt(Σ zP² · Σ zQ²), z = (x − mean) / std with the N−1 std;
- NSS = NSS(F; F) − NSS(P; F) = Σ (zF · F − zP · F) / Σ F — zero when the prediction equals the fixation
  map, and with a binary F the mean z-score of the prediction at the fixations subtracted from its best value.

loss = w_kl · KL + w_cc · CC + w_nss · NSS per sample, then the mean over the batch (the official code
uses equal weights 1, 1, 1). The official code sums over the whole batch at once; docs/training.md and
this function compute every term per sample. Computed in float32 whatever the prediction's dtype (autocast).
"""
from typing import Dict, Sequence, Tuple

import torch
from torch import nn

from ..errors import UserError

EPS = 1e-6
TERMS = ("kl", "cc", "nss")
# guards against an exact division by zero only (an all-zero prediction, a constant map, no fixations);
# far below any value a real map gives, so the terms are the formula's everywhere else
_TINY = 1e-12


def _flatten(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.dim() == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 3:
        raise UserError("{} must be N×1×H×W or N×H×W, got shape {}".format(name, tuple(x.shape)))
    return x.reshape(x.shape[0], -1).float()


def _zscore(x: torch.Tensor) -> torch.Tensor:
    """Per row: (x − mean) / std, std with N−1 (torch's default, as the official code)."""
    return (x - x.mean(dim=1, keepdim=True)) / x.std(dim=1, keepdim=True).clamp_min(_TINY)


def eml_loss_terms(
    prediction: torch.Tensor, fixations: torch.Tensor, density: torch.Tensor, eps: float = EPS
) -> Dict[str, torch.Tensor]:
    """The three terms per sample (each a tensor of N values): ``{"kl", "cc", "nss"}``.

    ``prediction`` and ``density`` are saliency maps (non-negative), ``fixations`` the fixation map (1 at
    fixated pixels; the NSS term weights pixels by its values, as the official code). All three must have
    the same N×1×H×W (or N×H×W) shape.
    """
    if not (prediction.shape == fixations.shape == density.shape):
        raise UserError(
            "prediction, fixations and density must have the same shape; got {}, {}, {}".format(
                tuple(prediction.shape), tuple(fixations.shape), tuple(density.shape)
            )
        )
    p = _flatten(prediction, "prediction")
    f = _flatten(fixations, "fixations")
    q = _flatten(density, "density")

    p_dist = p / p.sum(dim=1, keepdim=True).clamp_min(_TINY)
    q_dist = q / q.sum(dim=1, keepdim=True).clamp_min(_TINY)
    kl = (q_dist * torch.log(q_dist / (p_dist + eps) + eps)).sum(dim=1)

    zp, zq = _zscore(p), _zscore(q)
    cc = 1 - (zp * zq).sum(dim=1) / torch.sqrt((zp * zp).sum(dim=1) * (zq * zq).sum(dim=1)).clamp_min(_TINY)

    zf = _zscore(f)
    nss = ((zf * f).sum(dim=1) - (zp * f).sum(dim=1)) / f.sum(dim=1).clamp_min(_TINY)
    return {"kl": kl, "cc": cc, "nss": nss}


def eml_loss(
    prediction: torch.Tensor,
    fixations: torch.Tensor,
    density: torch.Tensor,
    weights: Sequence[float] = (1.0, 1.0, 1.0),
    eps: float = EPS,
) -> torch.Tensor:
    """The weighted EML loss: w_kl·KL + w_cc·(1 − CC) + w_nss·(NSS(F;F) − NSS(P;F)) per sample, batch mean."""
    terms = eml_loss_terms(prediction, fixations, density, eps)
    return weighted_loss(terms, check_weights(weights)).mean()


def weighted_loss(terms: Dict[str, torch.Tensor], weights: Tuple[float, float, float]) -> torch.Tensor:
    """Per-sample loss from :func:`eml_loss_terms`: w_kl·KL + w_cc·(1 − CC) + w_nss·NSS term."""
    w_kl, w_cc, w_nss = weights
    return w_kl * terms["kl"] + w_cc * terms["cc"] + w_nss * terms["nss"]


def check_weights(weights: Sequence[float]) -> Tuple[float, float, float]:
    values = tuple(float(w) for w in weights)
    if len(values) != 3 or min(values) < 0 or max(values) == 0:
        raise UserError(
            "loss weights are three non-negative numbers for KL, CC and NSS, not all zero; got {}".format(
                list(weights)
            )
        )
    return values  # type: ignore[return-value]


class EMLLoss(nn.Module):
    """:func:`eml_loss` as a module; ``last_terms`` holds the batch means of the three terms (detached
    0-d tensors, so that logging them does not synchronise a GPU every step)."""

    def __init__(self, weights: Sequence[float] = (1.0, 1.0, 1.0), eps: float = EPS) -> None:
        super().__init__()
        self.weights = check_weights(weights)
        self.eps = eps
        self.last_terms: Dict[str, torch.Tensor] = {}

    def forward(self, prediction: torch.Tensor, fixations: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
        terms = eml_loss_terms(prediction, fixations, density, self.eps)
        self.last_terms = {k: v.detach().mean() for k, v in terms.items()}
        return weighted_loss(terms, self.weights).mean()
