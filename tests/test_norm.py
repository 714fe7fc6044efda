"""LayerNorm and BatchNorm: closed forms, exact Jacobians, running statistics, modes, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwatch as gw


def standardise_jacobian(x: np.ndarray, eps: float) -> np.ndarray:
    r"""Jacobian ``J[i, j]`` of :math:`\hat x_i = c_i (v + \varepsilon)^{-1/2}` in :math:`x_j`.

    Written from the product rule, independently of the library's simplified form: with
    :math:`c = x - \mu`, :math:`v = \overline{c^2}`, :math:`s = (v + \varepsilon)^{-1/2}`,
    :math:`\partial c_i/\partial x_j = \delta_{ij} - 1/n` and
    :math:`\partial v/\partial x_j = 2 c_j/n`.
    """
    n = x.size
    c = x - x.mean()
    v = np.mean(c * c)
    s = 1.0 / math.sqrt(v + eps)
    dc = np.eye(n) - 1.0 / n
    dv = 2.0 * c / n
    return s * dc - np.outer(c, dv) * 0.5 * s**3


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:  # type: ignore[no-untyped-def]
    grad = np.empty_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        grad[index] = (f(up) - f(down)) / (2 * h)
    return grad


# ---------------------------------------------------------------------------------------------
# LayerNorm
# ---------------------------------------------------------------------------------------------


def test_layer_norm_forward_by_hand() -> None:
    norm = gw.LayerNorm(4, eps=1e-5)
    norm.gamma[...] = [1.0, 2.0, 3.0, 4.0]
    norm.beta[...] = [0.5, 0.0, -0.5, 1.0]
    x = np.array([[1.0, 2.0, 3.0, 6.0], [0.0, 0.0, 0.0, 4.0]])
    expected = []
    for row in x:
        mean = row.mean()
        var = ((row - mean) ** 2).mean()  # biased, as torch.nn.LayerNorm
        expected.append((row - mean) / math.sqrt(var + 1e-5) * norm.gamma + norm.beta)
    np.testing.assert_allclose(norm.forward(x), expected, rtol=1e-14)


def test_layer_norm_rows_are_standardised_and_independent(rng: np.random.Generator) -> None:
    x = rng.normal(3.0, 5.0, size=(6, 8))
    y = gw.LayerNorm(8, eps=1e-12).forward(x)
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-14)
    np.testing.assert_allclose(y.var(axis=1), 1.0, rtol=1e-10)
    np.testing.assert_array_equal(gw.LayerNorm(8, eps=1e-12).forward(x[2:3]), y[2:3])


def test_layer_norm_backward_equals_the_exact_jacobian(rng: np.random.Generator) -> None:
    n, eps = 5, 1e-3
    norm = gw.LayerNorm(n, eps=eps)
    norm.gamma[...] = rng.normal(size=n)
    norm.beta[...] = rng.normal(size=n)
    x, dy = rng.normal(size=(3, n)), rng.normal(size=(3, n))
    y = norm.forward(x)
    dx = norm.backward(dy)
    for i in range(3):
        jac = standardise_jacobian(x[i], eps) * norm.gamma[:, None]  # dy_k/dx_j
        np.testing.assert_allclose(dx[i], dy[i] @ jac, rtol=1e-12, atol=1e-14)
    x_hat = (y - norm.beta) / norm.gamma
    np.testing.assert_allclose(norm.dgamma, (dy * x_hat).sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(norm.dbeta, dy.sum(axis=0), rtol=1e-13)


def test_layer_norm_gradient_is_orthogonal_to_shift_and_scale(rng: np.random.Generator) -> None:
    norm = gw.LayerNorm(6, eps=1e-15)  # exactly orthogonal as eps -> 0
    x = rng.normal(size=(4, 6))
    y = norm.forward(x)
    dx = norm.backward(rng.normal(size=(4, 6)))
    np.testing.assert_allclose(dx.sum(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose((dx * y).sum(axis=1), 0.0, atol=1e-12)


def test_layer_norm_against_finite_differences(rng: np.random.Generator) -> None:
    norm = gw.LayerNorm(4)
    norm.gamma[...] = rng.normal(size=4)
    x, weights = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    norm.forward(x)
    dx = norm.backward(weights)
    np.testing.assert_allclose(
        dx, central_difference(lambda v: float((norm.forward(v) * weights).sum()), x), rtol=1e-7
    )


def test_layer_norm_of_one_feature_is_beta() -> None:
    norm = gw.LayerNorm(1)
    norm.beta[...] = 0.25
    np.testing.assert_array_equal(norm.forward(np.array([[3.0], [-7.0]])), [[0.25], [0.25]])
    np.testing.assert_array_equal(norm.backward(np.ones((2, 1))), [[0.0], [0.0]])


def test_layer_norm_is_the_same_in_eval_mode(rng: np.random.Generator) -> None:
    norm = gw.LayerNorm(3)
    x = rng.normal(size=(2, 3))
    y = norm.forward(x)
    assert norm.eval() is norm
    assert not norm.training
    np.testing.assert_array_equal(norm.forward(x), y)


# ---------------------------------------------------------------------------------------------
# BatchNorm
# ---------------------------------------------------------------------------------------------


def test_batch_norm_training_forward_by_hand(rng: np.random.Generator) -> None:
    norm = gw.BatchNorm(3)
    norm.gamma[...] = [2.0, 1.0, 0.5]
    norm.beta[...] = [0.0, 1.0, -1.0]
    x = rng.normal(2.0, 3.0, size=(5, 3))
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5) * norm.gamma + norm.beta
    np.testing.assert_allclose(norm.forward(x), expected, rtol=1e-13)
    assert norm.training


def test_batch_norm_running_statistics_as_pytorch(rng: np.random.Generator) -> None:
    m = 0.3
    norm = gw.BatchNorm(2, momentum=m)
    np.testing.assert_array_equal(norm.running_mean, [0.0, 0.0])
    np.testing.assert_array_equal(norm.running_var, [1.0, 1.0])
    first, second = rng.normal(size=(4, 2)), rng.normal(1.0, 2.0, size=(7, 2))
    norm.forward(first)
    norm.forward(second)
    mean = (1 - m) * ((1 - m) * 0.0 + m * first.mean(0)) + m * second.mean(0)
    var = (1 - m) * ((1 - m) * 1.0 + m * first.var(0, ddof=1)) + m * second.var(0, ddof=1)
    np.testing.assert_allclose(norm.running_mean, mean, rtol=1e-14)
    np.testing.assert_allclose(norm.running_var, var, rtol=1e-14)


@pytest.mark.parametrize("momentum", [0.0, 1.0])
def test_batch_norm_momentum_at_the_ends(momentum: float, rng: np.random.Generator) -> None:
    norm = gw.BatchNorm(3, momentum=momentum)
    x = rng.normal(size=(6, 3))
    norm.forward(x)
    if momentum == 0.0:
        np.testing.assert_array_equal(norm.running_mean, 0.0)
        np.testing.assert_array_equal(norm.running_var, 1.0)
    else:
        np.testing.assert_allclose(norm.running_mean, x.mean(0), rtol=1e-14)
        np.testing.assert_allclose(norm.running_var, x.var(0, ddof=1), rtol=1e-14)


def test_batch_norm_eval_uses_running_statistics_and_updates_nothing(
    rng: np.random.Generator,
) -> None:
    norm = gw.BatchNorm(3, eps=1e-3)
    norm.running_mean[...] = [1.0, -1.0, 0.5]
    norm.running_var[...] = [4.0, 0.25, 1.0]
    norm.gamma[...] = [1.0, 2.0, 3.0]
    assert norm.eval() is norm
    x, dy = rng.normal(size=(1, 3)), rng.normal(size=(1, 3))  # one sample is fine here
    scale = 1.0 / np.sqrt(norm.running_var + 1e-3)
    np.testing.assert_allclose(norm.forward(x), (x - norm.running_mean) * scale * norm.gamma)
    np.testing.assert_allclose(norm.backward(dy), dy * norm.gamma * scale, rtol=1e-15)
    np.testing.assert_array_equal(norm.running_mean, [1.0, -1.0, 0.5])
    np.testing.assert_array_equal(norm.running_var, [4.0, 0.25, 1.0])
    assert norm.train() is norm
    assert norm.training


def test_batch_norm_backward_equals_the_exact_jacobian(rng: np.random.Generator) -> None:
    eps = 1e-2
    norm = gw.BatchNorm(2, eps=eps)
    norm.gamma[...] = [1.5, -0.5]
    x, dy = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    norm.forward(x)
    dx = norm.backward(dy)
    for j in range(2):  # each feature's column is standardised over the batch
        jac = standardise_jacobian(x[:, j], eps) * norm.gamma[j]
        np.testing.assert_allclose(dx[:, j], dy[:, j] @ jac, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx.sum(axis=0), 0.0, atol=1e-13)  # orthogonal to a shift


def test_batch_norm_backward_follows_the_mode_of_its_forward_pass(
    rng: np.random.Generator,
) -> None:
    norm = gw.BatchNorm(2)
    x, dy = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    norm.forward(x)
    norm.eval()  # switching mode after forward does not change what backward differentiates
    training_dx = norm.backward(dy)
    np.testing.assert_allclose(training_dx.sum(axis=0), 0.0, atol=1e-13)
    norm.forward(x)
    eval_dx = norm.backward(dy)
    np.testing.assert_allclose(eval_dx, dy / np.sqrt(norm.running_var + 1e-5), rtol=1e-15)


def test_batch_norm_against_finite_differences(rng: np.random.Generator) -> None:
    norm = gw.BatchNorm(3, momentum=0.0)  # momentum 0: the repeated forward passes change nothing
    norm.gamma[...] = rng.normal(size=3)
    x, weights = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    norm.forward(x)
    dx = norm.backward(weights)
    np.testing.assert_allclose(
        dx, central_difference(lambda v: float((norm.forward(v) * weights).sum()), x), rtol=1e-7
    )


def test_batch_of_one_in_training_mode_is_an_error() -> None:
    norm = gw.BatchNorm(3)
    with pytest.raises(ValueError, match=r"more than one sample.*shape \(1, 3\).*eval\(\)"):
        norm.forward(np.ones((1, 3)))
    np.testing.assert_array_equal(norm.running_mean, 0.0)  # nothing was updated


# ---------------------------------------------------------------------------------------------
# Both: dtypes and errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [gw.LayerNorm, gw.BatchNorm])
def test_float32_stays_float32(cls: type[gw.LayerNorm], rng: np.random.Generator) -> None:
    norm = cls(4, dtype=np.float32)
    x = rng.normal(size=(3, 4)).astype(np.float32)
    y = norm.forward(x)
    dx = norm.backward(np.ones((3, 4), dtype=np.float32))
    for array in (y, dx, *norm.params(), *norm.grads()):
        assert array.dtype == np.float32
    reference = cls(4)
    np.testing.assert_allclose(y, reference.forward(x.astype(np.float64)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", [gw.LayerNorm, gw.BatchNorm])
@pytest.mark.parametrize("training", [True, False])
def test_float16_computes_in_float32_and_rounds(
    cls: type[gw.LayerNorm], training: bool, rng: np.random.Generator
) -> None:
    # Values a few hundred apart: their float16 variance (over 65504) would overflow and give
    # zeros. As in PyTorch, a float16 layer computes in float32 and rounds what it returns, so
    # everything equals the float64 layer's result on the same inputs, rounded to float16.
    x = (300.0 * rng.normal(size=(64, 16))).astype(np.float16)
    dy = rng.normal(size=(64, 16)).astype(np.float16)
    gamma = (1.0 + 0.1 * rng.normal(size=16)).astype(np.float16)
    beta = (0.1 * rng.normal(size=16)).astype(np.float16)
    half, exact = cls(16, dtype=np.float16), cls(16)
    for norm in (half, exact):
        norm.gamma[:], norm.beta[:] = gamma, beta
        if isinstance(norm, gw.BatchNorm) and not training:
            norm.running_mean[:], norm.running_var[:] = 20.0, 4e4  # a variance float16 holds
            norm.eval()
    y_half, y_exact = (n.forward(x.astype(n.dtype)) for n in (half, exact))
    dx_half, dx_exact = (n.backward(dy.astype(n.dtype)) for n in (half, exact))
    pairs = [
        (y_half, y_exact),
        (dx_half, dx_exact),
        (half.dgamma, exact.dgamma),
        (half.dbeta, exact.dbeta),
    ]
    if isinstance(half, gw.BatchNorm):
        pairs += [(half.running_mean, exact.running_mean), (half.running_var, exact.running_var)]
    for ours, reference in pairs:
        assert ours.dtype == np.float16
        scale = np.max(np.abs(reference))
        assert scale > 0
        assert np.max(np.abs(ours - reference)) <= 2.0**-10 * scale  # one float16 rounding


@pytest.mark.parametrize("cls", [gw.LayerNorm, gw.BatchNorm])
def test_params_grads_and_names(cls: type[gw.LayerNorm]) -> None:
    norm = cls(3)
    assert norm.param_names() == ["gamma", "beta"]
    assert norm.params()[0] is norm.gamma
    assert norm.params()[1] is norm.beta
    assert norm.grads()[0] is norm.dgamma
    assert norm.grads()[1] is norm.dbeta
    np.testing.assert_array_equal(norm.gamma, 1.0)
    np.testing.assert_array_equal(norm.beta, 0.0)
    assert (norm.n_in, norm.n_out) == (3, 3)


@pytest.mark.parametrize("cls", [gw.LayerNorm, gw.BatchNorm])
def test_bad_arguments(cls: type[gw.LayerNorm]) -> None:
    for n in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="n must be a positive int"):
            cls(n)  # type: ignore[arg-type]
    for eps in (0.0, -1e-5, math.nan, math.inf):
        with pytest.raises(ValueError, match="eps must be a positive finite number"):
            cls(3, eps=eps)
    with pytest.raises(TypeError, match="eps"):
        cls(3, eps="small")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dtype"):
        cls(3, dtype=np.int64)
    norm = cls(3)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        norm.backward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3\).*got shape \(2, 4\)"):
        norm.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        norm.forward(np.ones(3))
    norm.forward(np.ones((2, 3)))
    for bad in (np.ones((2, 4)), np.ones(3), np.ones((3, 3))):
        with pytest.raises(ValueError, match=rf"dy has shape \({bad.shape[0]},.*output has shape"):
            norm.backward(bad)
    with pytest.raises(TypeError, match="dy must hold real numbers"):
        norm.backward(np.full((2, 3), "x"))


@pytest.mark.parametrize("momentum", [-0.1, 1.5, math.nan])
def test_momentum_outside_zero_one(momentum: float) -> None:
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
        gw.BatchNorm(3, momentum=momentum)


def test_momentum_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="momentum"):
        gw.BatchNorm(3, momentum=None)  # type: ignore[arg-type]


def test_repr() -> None:
    assert repr(gw.LayerNorm(3)) == "LayerNorm(3, eps=1e-05, dtype=float64)"
    assert repr(gw.BatchNorm(2, momentum=0.2, dtype=np.float32)) == (
        "BatchNorm(2, eps=1e-05, momentum=0.2, dtype=float32)"
    )
