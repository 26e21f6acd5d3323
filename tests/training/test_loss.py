"""The EML loss against a straight-line float64 recomputation of its formula (docs/design.md, "EML-Net as the
official code builds it")."""
import numpy as np
import pytest
import torch

from edge_saliency.errors import UserError
from edge_saliency.training.loss import EMLLoss, eml_loss, eml_loss_terms


def _reference(pred, fix, dens, weights=(1.0, 1.0, 1.0), eps=1e-6):
    """Per sample, in float64 numpy, term by term as written; then the batch mean."""
    losses = []
    for p, f, q in zip(pred, fix, dens):
        p, f, q = (np.asarray(a, np.float64).ravel() for a in (p, f, q))
        P, Q = p / p.sum(), q / q.sum()
        kl = np.sum(Q * np.log(Q / (P + eps) + eps))
        zp = (p - p.mean()) / p.std(ddof=1)
        zq = (q - q.mean()) / q.std(ddof=1)
        cc = np.sum(zp * zq) / np.sqrt(np.sum(zp * zp) * np.sum(zq * zq))
        zf = (f - f.mean()) / f.std(ddof=1)
        nss_fix = np.sum(zf * f) / f.sum()
        nss_pred = np.sum(zp * f) / f.sum()
        losses.append(weights[0] * kl + weights[1] * (1 - cc) + weights[2] * (nss_fix - nss_pred))
    return float(np.mean(losses))


def _batch(n=3, h=12, w=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.rand(n, 1, h, w, generator=g) * 0.9 + 0.05
    fix = (torch.rand(n, 1, h, w, generator=g) > 0.93).float()
    fix[:, :, 0, 0] = 1  # at least one fixation each
    # exact zeros away from the fixations, as real density maps have: 0·log(eps) must stay 0, not NaN
    dens = torch.nn.functional.avg_pool2d(fix, 5, stride=1, padding=2)
    return pred, fix, dens


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0), (0.5, 2.0, 0.25)])
def test_loss_equals_the_formula(weights):
    pred, fix, dens = _batch()
    expected = _reference(pred.numpy()[:, 0], fix.numpy()[:, 0], dens.numpy()[:, 0], weights)
    got = float(eml_loss(pred, fix, dens, weights))
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)  # float32 vs float64
    assert float(EMLLoss(weights)(pred, fix, dens)) == pytest.approx(got, rel=1e-6)


def test_loss_is_per_sample_then_the_batch_mean():
    pred, fix, dens = _batch(n=4)
    singles = [float(eml_loss(pred[i:i + 1], fix[i:i + 1], dens[i:i + 1])) for i in range(4)]
    assert float(eml_loss(pred, fix, dens)) == pytest.approx(np.mean(singles), rel=1e-6)
    # and not the official whole-batch normalisation: a sample scaled by 10 changes nothing
    scaled = pred.clone()
    scaled[0] *= 10
    assert float(eml_loss(scaled, fix, dens)) == pytest.approx(float(eml_loss(pred, fix, dens)), rel=1e-5)


def test_nss_term_is_zero_when_the_prediction_is_the_fixation_map():
    _, fix, dens = _batch()
    terms = eml_loss_terms(fix.clone(), fix, dens)
    torch.testing.assert_close(terms["nss"], torch.zeros(3), atol=1e-6, rtol=0)
    # and positive for any other prediction
    pred, _, _ = _batch(seed=1)
    assert (eml_loss_terms(pred, fix, dens)["nss"] > 0).all()


def test_kl_and_cc_vanish_when_the_prediction_is_the_density():
    _, fix, dens = _batch()
    terms = eml_loss_terms(dens.clone(), fix, dens)
    assert float(terms["cc"].abs().max()) < 1e-6
    # with P = Q only the eps terms remain: Σ Q·log(Q/(Q+eps) + eps) ≈ −eps·(#non-zero − 1), first order
    nonzero = (dens > 0).flatten(1).sum(1).double()
    torch.testing.assert_close(terms["kl"].double(), -1e-6 * (nonzero - 1), atol=2e-6, rtol=0)


def test_gradients_flow_to_the_prediction_only_where_they_should():
    pred, fix, dens = _batch()
    logits = torch.logit(pred).requires_grad_(True)
    loss = eml_loss(torch.sigmoid(logits), fix, dens)
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    # a gradient step lowers the loss
    with torch.no_grad():
        stepped = eml_loss(torch.sigmoid(logits - 5.0 * logits.grad), fix, dens)
    assert float(stepped) < float(loss.detach())


def test_degenerate_inputs_stay_finite():
    pred, fix, dens = _batch(n=2)
    fix[1] = 0  # an image whose fixations were all dropped
    pred[0] = 0.5  # a constant prediction
    terms = eml_loss_terms(pred, fix, dens)
    assert all(torch.isfinite(v).all() for v in terms.values())
    assert float(terms["nss"][1]) == 0.0


def test_shapes_and_weights_are_checked():
    pred, fix, dens = _batch()
    with pytest.raises(UserError, match="same shape"):
        eml_loss(pred, fix[:, :, :6], dens)
    with pytest.raises(UserError, match="three non-negative"):
        eml_loss(pred, fix, dens, weights=(1.0, -1.0, 1.0))
