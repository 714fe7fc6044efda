"""Helpers of the recurrent-network page: gradient through time, the cliff, clipping."""

from __future__ import annotations

import numpy as np
import pytest

import gradwatch as gw


def test_gradient_norms_follow_the_spectral_radius():
    norms = gw.rnn.gradient_norms_over_time(
        [0.7, 1.0, 1.3], n_hidden=16, n_steps=12, input_std=1e-4
    )
    for r, v in norms.items():
        assert v.shape == (12,)
        assert v[0] == 1.0
        assert gw.theory.fit_per_layer_factor(v) == pytest.approx(r, rel=0.01)


def test_gradient_norms_vanish_when_tanh_saturates():
    # Large inputs push tanh into its tails: even r slightly above 1 gives shrinking gradients.
    norms = gw.rnn.gradient_norms_over_time([1.1], n_hidden=16, n_steps=20, input_std=3.0)
    assert norms[1.1][-1] < 1.0


def test_gradient_norms_rejects_bad_input():
    with pytest.raises(ValueError, match="radii"):
        gw.rnn.gradient_norms_over_time([])
    with pytest.raises(ValueError, match="input_std"):
        gw.rnn.gradient_norms_over_time([1.0], input_std=-1.0)


@pytest.mark.parametrize(
    ("w", "b", "h0", "n_steps"), [(0.7, 0.1, 0.3, 5), (2.5, 0.2, -0.5, 30), (-1.5, -0.3, 0.9, 12)]
)
def test_one_unit_derivatives_match_finite_differences(w, b, h0, n_steps):
    _, dw, db = gw.rnn.one_unit_rnn(w, b, h0=h0, n_steps=n_steps)
    eps = 1e-6
    hw = gw.rnn.one_unit_rnn(w + eps, b, h0=h0, n_steps=n_steps)[0]
    hw_ = gw.rnn.one_unit_rnn(w - eps, b, h0=h0, n_steps=n_steps)[0]
    hb = gw.rnn.one_unit_rnn(w, b + eps, h0=h0, n_steps=n_steps)[0]
    hb_ = gw.rnn.one_unit_rnn(w, b - eps, h0=h0, n_steps=n_steps)[0]
    assert float(dw) == pytest.approx(float(hw - hw_) / (2 * eps), rel=1e-5, abs=1e-8)
    assert float(db) == pytest.approx(float(hb - hb_) / (2 * eps), rel=1e-5, abs=1e-8)


def test_one_unit_loss_and_grad_broadcast_over_a_grid():
    grid = np.stack(np.meshgrid(np.linspace(0, 3, 5), np.linspace(-1, 1, 4)), axis=-1)
    kwargs = {"h0": -0.5, "n_steps": 10, "target": -0.5}
    loss = gw.rnn.one_unit_loss(grid, **kwargs)
    grad = gw.rnn.one_unit_grad(grid, **kwargs)
    assert loss.shape == (4, 5)
    assert grad.shape == (4, 5, 2)
    point = grid[2, 3]
    assert float(loss[2, 3]) == float(gw.rnn.one_unit_loss(point, **kwargs))
    eps = 1e-6
    numeric = [
        float(
            gw.rnn.one_unit_loss(point + eps * e, **kwargs)
            - gw.rnn.one_unit_loss(point - eps * e, **kwargs)
        )
        / (2 * eps)
        for e in np.eye(2)
    ]
    assert np.allclose(grad[2, 3], numeric, rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError, match="params"):
        gw.rnn.one_unit_loss(np.zeros(3), **kwargs)
    with pytest.raises(ValueError, match="n_steps"):
        gw.rnn.one_unit_rnn(1.0, 0.0, h0=0.0, n_steps=0)


def test_cliff_descent_clipped_steps_are_bounded():
    kwargs = {"h0": -0.5, "n_steps": 30, "target": -0.5, "lr": 0.1, "steps": 120}
    plain, plain_G = gw.rnn.cliff_descent([2.5, 0.0], **kwargs)
    clipped, _ = gw.rnn.cliff_descent([2.5, 0.0], max_norm=0.5, **kwargs)
    assert plain.shape == clipped.shape == (121, 2)
    assert plain_G.shape == (121,)
    steps = np.linalg.norm(np.diff(clipped, axis=0), axis=1)
    assert steps.max() <= 0.05 + 1e-12
    # The unclipped run meets a gradient far above the clipped step's bound and jumps.
    assert plain_G.max() > 20
    assert np.linalg.norm(np.diff(plain, axis=0), axis=1).max() > 2.0


def test_clipping_comparison_runs_share_a_start():
    runs = gw.rnn.clipping_comparison(
        n_hidden=8,
        n_steps=10,
        n_samples=32,
        steps=20,
        batch_size=16,
        spectral_radius=1.5,
        max_norm=0.5,
    )
    plain, clipped = runs["no clipping"], runs["clipped at 0.5"]
    assert plain.loss[0] == clipped.loss[0]
    assert plain.grad_norm[0] == clipped.grad_norm[0]
    assert not plain.clipped.any()
    assert np.array_equal(clipped.clipped, clipped.grad_norm > 0.5)


def test_rnn_experiment_settings_load():
    experiment = gw.experiments.load("rnn")
    assert experiment.kind == "rnn_gradients"
    assert experiment.settings["train_radius"] > 1
