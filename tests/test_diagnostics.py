"""Per-layer statistics, health verdicts and Jacobians."""

from __future__ import annotations

import numpy as np
import pytest

import gradwatch as gw


def _two_layer_relu() -> gw.MLP:
    net = gw.MLP([2, 2, 1], activation="relu", init="ones", seed=0)
    net.layers[0].W[:, 1] = -1.0  # unit 2 is negative for every positive input: dead
    return net


def test_layer_stats_by_hand() -> None:
    net = _two_layer_relu()
    x = np.array([[1.0, 2.0], [3.0, 1.0]])
    y = np.zeros((2, 1))
    stats = gw.diagnostics.layer_stats(net, x, y)
    # Layer 1: z = [[3, -3], [4, -4]] -> a = [[3, 0], [4, 0]]; layer 2: y_hat = [3, 4].
    np.testing.assert_allclose(stats.act_mean, [7 / 4, 3.5])
    np.testing.assert_allclose(stats.act_std, [np.std([3, 0, 4, 0]), 0.5])
    assert stats.dead[0] == 0.5
    assert np.isnan(stats.dead[1])
    assert np.all(np.isnan(stats.saturation))
    assert stats.loss == pytest.approx((9 + 16) / 2)
    # MSE = mean((y_hat - y)^2): dL/dy_hat = 2 y_hat / 2 = y_hat; dW2 = a1^T dy.
    dW2 = np.array([[3.0 * 3 + 4 * 4], [0.0]])
    assert stats.grad_norm[1] == pytest.approx(np.linalg.norm(dW2))
    assert stats.grad_data[1] == np.inf  # W2 is all ones: std(W2) = 0
    assert stats.grad_data[0] == pytest.approx(np.std(net.layers[0].dW) / np.std([1, -1]))
    np.testing.assert_allclose(stats.delta_norm[1], np.sqrt((9 + 16) / 2))
    assert stats.update_data is None
    assert stats.shape == ((2, 2), (2, 1))
    assert stats.activation == ("relu", "identity")


def test_saturation_thresholds() -> None:
    for name, big in (("tanh", 5.0), ("sigmoid", 5.0)):
        net = gw.MLP([1, 4, 1], activation=name, init="ones", seed=0)
        x = np.array([[big], [0.0]])
        stats = gw.diagnostics.layer_stats(net, x, np.zeros((2, 1)))
        assert stats.saturation[0] == 0.5  # the large input saturates, zero does not


def test_update_ratio_leaves_net_and_optimizer_unchanged() -> None:
    net = gw.MLP([3, 5, 1], activation="tanh", seed=1)
    x = np.random.default_rng(0).normal(size=(8, 3))
    y = np.ones((8, 1))
    before = [p.copy() for p in net.params()]
    opt = gw.optim.Adam(lr=0.01)
    stats = gw.diagnostics.layer_stats(net, x, y, optimizer=opt)
    for p, p0 in zip(net.params(), before, strict=True):
        np.testing.assert_array_equal(p, p0)
    assert opt.steps == 0
    assert stats.update_data is not None
    # Adam's first step moves every weight by about lr: std(update) ~ lr * std(sign(g)).
    expected = np.std(0.01 * np.sign(net.layers[0].dW)) / np.std(net.layers[0].W)
    assert stats.update_data[0] == pytest.approx(expected, rel=1e-3)
    sgd = gw.diagnostics.layer_stats(net, x, y, optimizer=gw.optim.SGD(lr=0.1))
    assert sgd.update_data is not None
    np.testing.assert_allclose(sgd.update_data, 0.1 * sgd.grad_data)


def test_table_outputs() -> None:
    stats = gw.diagnostics.layer_stats(
        _two_layer_relu(), np.ones((2, 2)), np.zeros((2, 1)), optimizer=gw.optim.SGD()
    )
    text = repr(stats)
    assert text.startswith("LayerStats(")
    assert "update:data" in text
    assert "50.0%" in text
    lines = stats.to_markdown().splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("|---")
    assert all(line.count("|") == lines[0].count("|") for line in lines)


def _data(n_in: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, n_in)), rng.normal(size=(32, 1))


def test_health_vanishing_exploding_healthy() -> None:
    x, y = _data(16)
    vanishing = gw.MLP(
        [16] + [32] * 10 + [1], activation="sigmoid", init=gw.init.get("normal", std=0.05)
    )
    report = gw.diagnostics.health(gw.diagnostics.layer_stats(vanishing, x, y))
    assert report.verdict == "vanishing"
    assert report.layer_verdicts[0] == "vanishing"
    assert report.depth_ratio < 1e-2
    assert "first layer" in report.reasons[0]

    exploding = gw.MLP(
        [16] + [32] * 10 + [1], activation="identity", init=gw.init.get("normal", std=0.5)
    )
    report = gw.diagnostics.health(gw.diagnostics.layer_stats(exploding, x, y))
    assert report.verdict == "exploding"
    assert report.depth_ratio > 1e2

    relu = gw.MLP([16] + [32] * 10 + [1], activation="relu", init=gw.init.get("normal", std=0.6))
    assert gw.diagnostics.health(gw.diagnostics.layer_stats(relu, x, y)).verdict == "exploding"

    healthy = gw.MLP([16] + [32] * 6 + [1], activation="tanh", init="xavier_normal")
    report = gw.diagnostics.health(gw.diagnostics.layer_stats(healthy, x, y))
    assert report.verdict == "healthy"
    assert set(report.layer_verdicts) == {"healthy"}
    assert "net" in repr(report)
    assert report.to_markdown().count("\n") == 2 + 7


def test_health_thresholds_are_parameters() -> None:
    x, y = _data(16)
    net = gw.MLP([16] + [32] * 4 + [1], activation="tanh", init="xavier_normal")
    stats = gw.diagnostics.layer_stats(net, x, y)
    strict = gw.diagnostics.health(stats, grad_data_range=(1e3, 1e4))
    assert strict.verdict == "vanishing"
    assert "grad:data" in strict.layer_reasons[0][0]
    with pytest.raises(ValueError, match="vanish_ratio"):
        gw.diagnostics.health(stats, vanish_ratio=2.0)
    with pytest.raises(ValueError, match="grad_data_range"):
        gw.diagnostics.health(stats, grad_data_range=(1.0, 0.1))
    with pytest.raises(TypeError, match="LayerStats"):
        gw.diagnostics.health("stats")  # type: ignore[arg-type]


def test_dead_relu_units_are_flagged() -> None:
    net = gw.MLP([4, 8, 1], activation="relu", seed=0)
    net.layers[0].b[:] = -100.0
    x, y = np.random.default_rng(1).normal(size=(16, 4)), np.zeros((16, 1))
    stats = gw.diagnostics.layer_stats(net, x, y)
    assert stats.dead[0] == 1.0
    report = gw.diagnostics.health(stats)
    assert any("dead" in reason for reason in report.layer_reasons[0])


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "elu"])
def test_jacobians_match_finite_differences(activation: str) -> None:
    net = gw.MLP([4, 6, 5, 3], activation=activation, seed=2)
    x = np.random.default_rng(3).normal(size=4)
    jac = gw.diagnostics.jacobians(net, x)
    eps = 1e-6
    numeric = np.empty((3, 4))
    for j in range(4):
        step = np.zeros(4)
        step[j] = eps
        numeric[:, j] = (net.forward((x + step)[None]) - net.forward((x - step)[None]))[0] / (
            2 * eps
        )
    np.testing.assert_allclose(jac.product, numeric, atol=1e-7)
    assert [j.shape for j in jac.layers] == [(6, 4), (5, 6), (3, 5)]
    np.testing.assert_allclose(
        jac.product_singular_values, np.linalg.svd(numeric, compute_uv=False), atol=1e-6
    )
    assert all(
        np.all(np.diff(s) <= 0) and s.size == min(j.shape)
        for s, j in zip(jac.singular_values, jac.layers, strict=True)
    )
    # The first layer's Jacobian, by finite differences on one layer.
    first = gw.MLP([4, 6], output_activation=activation, seed=0)
    first.layers[0].W[...] = net.layers[0].W
    first.layers[0].b[...] = net.layers[0].b
    np.testing.assert_allclose(gw.diagnostics.jacobians(first, x[None]).product, jac.layers[0])


def test_jacobians_bad_input() -> None:
    net = gw.MLP([3, 2], seed=0)
    with pytest.raises(ValueError, match="one sample"):
        gw.diagnostics.jacobians(net, np.ones((2, 3)))
    with pytest.raises(ValueError, match="features"):
        gw.diagnostics.jacobians(net, np.ones(4))
    with pytest.raises(TypeError, match="x must hold real numbers"):
        gw.diagnostics.jacobians(net, np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match="features"):
        gw.diagnostics.layer_stats(net, np.ones((2, 4)), np.zeros((2, 2)))
