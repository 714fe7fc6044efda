"""gradcheck: passes on correct backprop, fails (and says where) on wrong backprop, restores."""

from __future__ import annotations

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.activations import Sigmoid, _sigmoid


@pytest.fixture
def problem(rng: np.random.Generator) -> tuple[gw.MLP, np.ndarray, np.ndarray]:
    net = gw.MLP([3, 4, 2], activation="sigmoid", bias_init=gw.init.get("normal", std=0.5), seed=0)
    return net, rng.normal(size=(5, 3)), rng.normal(size=(5, 2))


def test_passes_on_a_correct_network(problem: tuple[gw.MLP, np.ndarray, np.ndarray]) -> None:
    net, x, y = problem
    report = gw.gradcheck(net, x, y, loss="mse")
    assert report.passed
    assert 0.0 <= report.max_rel_error < 1e-6
    assert report.max_rel_error == max(report.rel_errors.values())
    assert set(report.rel_errors) == set(net.param_names())
    name, index = report.worst
    assert name in net.param_names()
    assert report.rel_errors[name] == report.max_rel_error
    assert len(index) == {"W": 2, "b": 1}[name[-1]]
    for name, p in zip(net.param_names(), net.params(), strict=True):
        assert report.analytic[name].shape == p.shape
        assert report.numeric[name].shape == p.shape
        np.testing.assert_allclose(
            report.numeric[name], report.analytic[name], rtol=1e-6, atol=1e-9
        )
    assert (report.eps, report.rtol, report.atol) == (1e-6, 1e-6, 1e-9)
    assert repr(report).startswith("GradCheckReport(passed: max_rel_error=")


def test_parameters_restored_exactly(problem: tuple[gw.MLP, np.ndarray, np.ndarray]) -> None:
    net, x, y = problem
    params = net.params()
    before = [p.copy() for p in params]
    x_before, y_before = x.copy(), y.copy()
    report = gw.gradcheck(net, x, y)
    for p, q, r in zip(net.params(), before, params, strict=True):
        assert p is r  # the same arrays, not replacements
        np.testing.assert_array_equal(p, q)  # bit for bit
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(y, y_before)
    # The network is left with the gradients of its true parameters.
    for name, g in zip(net.param_names(), net.grads(), strict=True):
        np.testing.assert_array_equal(g, report.analytic[name])


def test_fails_on_the_classic_sigmoid_bug(
    problem: tuple[gw.MLP, np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    net, x, y = problem
    # sigma'(sigma(z)) instead of sigma'(z): the slope evaluated at the output, not the input.
    monkeypatch.setattr(
        Sigmoid, "derivative_from_output", lambda self, a: _sigmoid(a) * (1 - _sigmoid(a))
    )
    monkeypatch.setattr(
        Sigmoid, "derivative", lambda self, z: _sigmoid(_sigmoid(z)) * (1 - _sigmoid(_sigmoid(z)))
    )
    report = gw.gradcheck(net, x, y)
    assert not report.passed
    assert report.max_rel_error > 1e-2
    # Only the hidden layer's slope is wrong, so only its gradients are.
    assert report.worst[0].startswith("layers[0].")
    assert report.rel_errors["layers[1].W"] < 1e-6
    assert report.rel_errors["layers[1].b"] < 1e-6
    assert "FAILED" in repr(report)


class OffByOneDense(gw.Dense):
    """A layer whose backward pass puts a wrong number in dW[1, 0]."""

    def backward(self, da: np.ndarray) -> np.ndarray:
        dx = super().backward(da)
        self.dW[1, 0] += 1e-3
        return dx


def test_fails_on_a_corrupted_layer_and_names_it(
    problem: tuple[gw.MLP, np.ndarray, np.ndarray],
) -> None:
    net, x, y = problem
    good = net.layers[1]
    bad = OffByOneDense(good.n_in, good.n_out, activation=good.activation)
    bad.W[...], bad.b[...] = good.W, good.b
    net.layers[1] = bad
    before = [p.copy() for p in net.params()]
    report = gw.gradcheck(net, x, y)
    assert not report.passed
    assert report.worst == ("layers[1].W", (1, 0))
    assert report.rel_errors["layers[0].W"] < 1e-6
    for p, q in zip(net.params(), before, strict=True):
        np.testing.assert_array_equal(p, q)


def test_fails_on_a_wrong_bias_gradient(problem: tuple[gw.MLP, np.ndarray, np.ndarray]) -> None:
    net, x, y = problem

    class NoBiasGradient(gw.Dense):
        def backward(self, da: np.ndarray) -> np.ndarray:
            dx = super().backward(da)
            self.db[...] = 0.0
            return dx

    good = net.layers[0]
    bad = NoBiasGradient(good.n_in, good.n_out, activation=good.activation)
    bad.W[...], bad.b[...] = good.W, good.b
    net.layers[0] = bad
    report = gw.gradcheck(net, x, y)
    assert not report.passed
    assert report.worst[0] == "layers[0].b"
    assert report.max_rel_error == pytest.approx(1.0)


def test_nan_gradient_is_a_failure(problem: tuple[gw.MLP, np.ndarray, np.ndarray]) -> None:
    net, x, y = problem

    class NanDense(gw.Dense):
        def backward(self, da: np.ndarray) -> np.ndarray:
            dx = super().backward(da)
            self.dW[0, 1] = np.nan
            return dx

    good = net.layers[1]
    bad = NanDense(good.n_in, good.n_out, activation=good.activation)
    bad.W[...], bad.b[...] = good.W, good.b
    net.layers[1] = bad
    report = gw.gradcheck(net, x, y)
    assert not report.passed
    assert report.worst == ("layers[1].W", (0, 1))


@pytest.mark.parametrize("loss", gw.losses.names())
def test_every_loss(loss: str, rng: np.random.Generator) -> None:
    output = "sigmoid" if loss == "bce" else "identity"
    net = gw.MLP([2, 3, 3], activation="tanh", output_activation=output, seed=2)
    x = rng.normal(size=(4, 2))
    y = rng.integers(0, 3, size=4) if loss == "softmax_cross_entropy" else rng.uniform(size=(4, 3))
    assert gw.gradcheck(net, x, y, loss=loss).passed
    assert gw.gradcheck(net, x, y, loss=gw.losses.get(loss)).passed


def test_float32_is_refused(problem: tuple[gw.MLP, np.ndarray, np.ndarray]) -> None:
    net, x, y = problem
    before = [p.copy() for p in net.params()]
    with pytest.raises(TypeError, match="gradcheck needs float64 x, got dtype float32"):
        gw.gradcheck(net, x.astype(np.float32), y)
    for p, q in zip(net.params(), before, strict=True):
        np.testing.assert_array_equal(p, q)
    net32 = gw.MLP([3, 4, 2], seed=0, dtype=np.float32)
    before32 = [p.copy() for p in net32.params()]
    with pytest.raises(TypeError, match="gradcheck needs a float64 network, got dtype float32"):
        gw.gradcheck(net32, x, y)
    for p, q in zip(net32.params(), before32, strict=True):
        np.testing.assert_array_equal(p, q)


def test_bad_settings(problem: tuple[gw.MLP, np.ndarray, np.ndarray]) -> None:
    net, x, y = problem
    with pytest.raises(ValueError, match="eps"):
        gw.gradcheck(net, x, y, eps=0.0)
    with pytest.raises(ValueError, match="rtol"):
        gw.gradcheck(net, x, y, rtol=-1.0)
    with pytest.raises(ValueError, match="atol"):
        gw.gradcheck(net, x, y, atol=float("nan"))
    with pytest.raises(ValueError, match="n_in=3"):
        gw.gradcheck(net, x[:, :2], y)


def test_parameters_restored_when_the_loss_fails_midway(
    problem: tuple[gw.MLP, np.ndarray, np.ndarray],
) -> None:
    net, x, y = problem

    class FailsOnSecondCall(gw.losses.MSE):
        calls = 0

        def value_and_grad(self, y_pred: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
            type(self).calls += 1
            if type(self).calls == 3:  # during the finite differences, with a parameter moved
                raise ArithmeticError("boom")
            return super().value_and_grad(y_pred, y)

    before = [p.copy() for p in net.params()]
    with pytest.raises(ArithmeticError, match="boom"):
        gw.gradcheck(net, x, y, loss=FailsOnSecondCall())
    for p, q in zip(net.params(), before, strict=True):
        np.testing.assert_array_equal(p, q)
