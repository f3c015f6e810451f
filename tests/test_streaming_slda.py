"""Deep SLDA: the streaming state equals the batch estimates, and predictions follow the paper's equations.

avalanche-lib's StreamingLDA is not used as the reference: it needs ~40 more packages (wandb, scikit-learn, ...)
in the lock and its covariance update is the paper's approximation rather than the exact pooled covariance.
The reference below is numpy, written from the paper's prediction equations (Hayes & Kanan 2020, Sec. 3):
Lambda = ((1 - eps) Sigma + eps I)^-1, W = mu Lambda, b = -1/2 diag(mu Lambda mu^T).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidzoo.streaming.learner import UnknownClassError
from vidzoo.streaming.slda import StreamingLDA


def _data(n: int = 260, d: int = 12, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    x = rng.normal(size=(k, d))[y] * 3 + rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.5
    return x, y


def _batch(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    classes = np.unique(y)
    means = np.stack([x[y == c].mean(0) for c in classes])
    centred = x - means[np.searchsorted(classes, y)]
    return means, centred.T @ centred / len(x)


def _reference_scores(means: np.ndarray, cov: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    precision = np.linalg.inv((1 - eps) * cov + eps * np.eye(len(cov)))
    w = means @ precision
    b = -0.5 * np.einsum("kd,kd->k", w, means)
    return x @ w.T + b


def test_streaming_means_and_covariance_equal_batch_estimates() -> None:
    x, y = _data()
    base = np.isin(y, [0, 1, 2])
    base_idx, stream_idx = np.flatnonzero(base)[:40], np.setdiff1d(np.arange(len(y)), np.flatnonzero(base)[:40])
    slda = StreamingLDA(x.shape[1])
    slda.fit_base(torch.from_numpy(x[base_idx]), torch.from_numpy(y[base_idx]))
    for i in stream_idx:  # includes classes 3 and 4, never told about: added as new classes
        slda.update(torch.from_numpy(x[i]), int(y[i]))
    order = np.concatenate([base_idx, stream_idx])
    means, cov = _batch(x[order], y[order])
    np.testing.assert_allclose(slda.means.numpy(), means, atol=1e-5)
    np.testing.assert_allclose(slda.covariance.numpy(), cov, atol=1e-5)
    assert slda.counts.tolist() == np.bincount(y).tolist()
    assert slda.classes.known == {0, 1, 2, 3, 4}


def test_predictions_follow_the_papers_equations() -> None:
    x, y = _data(seed=1)
    slda = StreamingLDA(x.shape[1], shrinkage=1e-2)
    slda.fit_base(torch.from_numpy(x[:30]), torch.from_numpy(y[:30]))
    for xi, yi in zip(x[30:200], y[30:200]):
        slda.update(torch.from_numpy(xi), int(yi))
    means, cov = _batch(x[:200], y[:200])
    ref = _reference_scores(means, cov, x[200:], 1e-2)
    got = slda.scores(torch.from_numpy(x[200:])).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-3)
    assert (got.argmax(1) == ref.argmax(1)).all()
    assert (got.argmax(1) == y[200:]).mean() > 0.8  # the classes are separable: LDA must find them


def test_fixed_covariance_keeps_the_base_estimate_and_means_still_move() -> None:
    x, y = _data(seed=2)
    slda = StreamingLDA(x.shape[1], plastic=False)
    slda.fit_base(torch.from_numpy(x[:50]), torch.from_numpy(y[:50]))
    before = slda.covariance.clone()
    for xi, yi in zip(x[50:], y[50:]):
        slda.update(torch.from_numpy(xi), int(yi))
    assert torch.equal(slda.covariance, before)
    np.testing.assert_allclose(slda.means.numpy(), _batch(x, y)[0], atol=1e-5)


def test_unknown_class_is_refused_with_one_line_when_asked() -> None:
    slda = StreamingLDA(3, new_classes="refuse", class_names=["a", "b", "c"])
    slda.fit_base(torch.randn(6, 3), torch.tensor([0, 0, 0, 1, 1, 1]))
    with pytest.raises(UnknownClassError) as err:
        slda.update(torch.randn(3), 2)
    assert "'c'" in str(err.value) and "new_classes=add" in str(err.value) and "\n" not in str(err.value)
    assert torch.isinf(slda.scores(torch.randn(2, 3))[:, 2:]).all()  # never predicted before it is learnt
