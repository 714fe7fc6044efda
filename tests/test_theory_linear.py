"""Linear-network and ReLU predictions of gradwatch.theory against gradwatch.diagnostics."""

from __future__ import annotations

import numpy as np
import pytest

import gradwatch as gw

SEEDS = [0, 1, 2, 3]


@pytest.mark.parametrize("scale", [0.8, 1.0, 1.2])
def test_linear_squared_norm_ratio_matches_s_to_the_2L(scale: float) -> None:
    depth = 20
    measured = gw.diagnostics.measured_gradient_norms(depth, 256, scale, "identity", seeds=SEEDS)
    predicted = gw.theory.linear_gradient_norms(depth, scale)
    assert predicted[-1] == pytest.approx(scale**depth)
    # mean squared-norm ratio within 10 % of s**(2L) at every depth
    np.testing.assert_allclose(measured**2, predicted**2, rtol=0.10)


@pytest.mark.parametrize("scale", [1.2, np.sqrt(2.0), 1.7])
def test_relu_squared_factor_is_half_s_squared(scale: float) -> None:
    depth = 20
    measured = gw.diagnostics.measured_gradient_norms(depth, 256, scale, "relu", seeds=SEEDS)
    factor = gw.diagnostics.fit_per_layer_factor(measured) ** 2
    assert factor == pytest.approx(scale**2 / 2, rel=0.03)
    # depth by depth the fluctuations of a ReLU net are larger (only half the units pass)
    np.testing.assert_allclose(
        measured**2, gw.theory.relu_gradient_norms(depth, scale) ** 2, rtol=0.25
    )


def test_relu_is_not_linear() -> None:
    """The ReLU halves the squared factor: the same weights without it grow faster."""
    relu = gw.diagnostics.measured_gradient_norms(10, 128, 1.7, "relu", seeds=[0, 1])
    linear = gw.diagnostics.measured_gradient_norms(10, 128, 1.7, "identity", seeds=[0, 1])
    assert relu[-1] < linear[-1] / 10


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("scale", [0.5, 1.0, 4.0])
def test_sigmoid_bound_holds_on_random_nets(seed: int, scale: float) -> None:
    net = gw.diagnostics.random_mlp(32, 12, "sigmoid", sigma_w=scale, seed=seed)
    measured = gw.diagnostics.depth_profile(net, n_samples=8, seed=seed)
    bound = gw.theory.gradient_norm_bound([layer.W for layer in net.layers], max_slope=0.25)
    assert measured.shape == bound.shape == (13,)
    assert np.all(measured <= bound * (1 + 1e-12))


def test_bound_is_reached_by_orthogonal_linear_net() -> None:
    net = gw.diagnostics.random_mlp(8, 5, "identity", sigma_w=1.3, weights="orthogonal", seed=0)
    measured = gw.diagnostics.depth_profile(net, n_samples=4, seed=0)
    bound = gw.theory.gradient_norm_bound([layer.W for layer in net.layers])
    np.testing.assert_allclose(measured, bound, rtol=1e-10)
    np.testing.assert_allclose(bound, 1.3 ** np.arange(6), rtol=1e-10)


def test_bound_with_one_slope_per_layer() -> None:
    W = 3.0 * np.eye(2)
    bound = gw.theory.gradient_norm_bound([W, W, W], max_slope=[1.0, 0.5, 0.25])
    # from the output down: 0.25 * 3, then 0.5 * 3, then 1 * 3
    np.testing.assert_allclose(bound, [1.0, 0.75, 1.125, 3.375])


def test_predicted_norms_and_fit_round_trip() -> None:
    predicted = gw.theory.predicted_gradient_norms(6, 0.64)
    np.testing.assert_allclose(predicted, 0.8 ** np.arange(7))
    assert gw.diagnostics.fit_per_layer_factor(predicted) == pytest.approx(0.8)


def test_depth_profile_is_deterministic() -> None:
    net = gw.diagnostics.random_mlp(16, 4, "relu", sigma_w=1.4, seed=3)
    first = gw.diagnostics.depth_profile(net, n_samples=5, seed=7)
    second = gw.diagnostics.depth_profile(net, n_samples=5, seed=7)
    np.testing.assert_array_equal(first, second)
    assert first[0] == 1.0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: gw.theory.predicted_gradient_norms(0, 1.0), ValueError, "depth"),
        (lambda: gw.theory.predicted_gradient_norms(2.5, 1.0), ValueError, "depth"),
        (lambda: gw.theory.predicted_gradient_norms(True, 1.0), ValueError, "depth"),
        (lambda: gw.theory.predicted_gradient_norms(3, -1.0), ValueError, "factor"),
        (lambda: gw.theory.linear_gradient_norms(3, 0.0), ValueError, "scale"),
        (lambda: gw.theory.relu_gradient_norms(3, "1"), TypeError, "scale"),
        (lambda: gw.diagnostics.fit_per_layer_factor([1.0]), ValueError, "ratios"),
        (lambda: gw.diagnostics.fit_per_layer_factor([1.0, 0.0]), ValueError, "ratios"),
        (lambda: gw.theory.gradient_norm_bound([]), ValueError, "weights"),
        (lambda: gw.theory.gradient_norm_bound([np.ones(3)]), ValueError, r"weights\[0\]"),
        (
            lambda: gw.theory.gradient_norm_bound([np.eye(2)], max_slope=[1.0, 1.0]),
            ValueError,
            "max_slope",
        ),
        (
            lambda: gw.theory.gradient_norm_bound([np.eye(2)], max_slope=-1.0),
            ValueError,
            "max_slope",
        ),
        (lambda: gw.diagnostics.measured_gradient_norms(3, 4, 1.0, seeds=[]), ValueError, "seeds"),
        (
            lambda: gw.diagnostics.depth_profile(gw.diagnostics.random_mlp(4, 2), n_samples=0),
            ValueError,
            "n_samples",
        ),
    ],
)
def test_errors_name_the_argument(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()
