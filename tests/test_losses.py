"""Losses: values against their formulas, gradients against finite differences, errors, numerics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradwatch as gw

NAMES = gw.losses.names()


def test_names_cover_the_contract() -> None:
    assert set(NAMES) >= {"mse", "bce", "bce_with_logits", "softmax_cross_entropy"}
    for name in NAMES:
        assert gw.losses.get(name).name == name
    loss = gw.losses.MSE()
    assert gw.losses.get(loss) is loss
    assert isinstance(gw.losses.get("cross_entropy"), gw.losses.SoftmaxCrossEntropy)


def problem(
    name: str, rng: np.random.Generator, n: int = 5, k: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and target that fit the loss ``name``."""
    if name == "mse":
        return rng.normal(size=(n, k)), rng.normal(size=(n, k))
    if name == "bce":
        return rng.uniform(0.05, 0.95, size=(n, k)), rng.uniform(0, 1, size=(n, k))
    if name == "bce_with_logits":
        return rng.normal(scale=3, size=(n, k)), rng.uniform(0, 1, size=(n, k))
    if name == "softmax_cross_entropy":
        return rng.normal(scale=3, size=(n, k)), rng.integers(0, k, size=n)
    raise AssertionError(name)


def reference(name: str, y_pred: np.ndarray, y: np.ndarray) -> float:
    """Straightforward formulas, as in PyTorch's functional losses with reduction='mean'."""
    if name == "mse":
        return float(np.mean((y_pred - y) ** 2))
    if name == "bce":
        return float(-np.mean(y * np.log(y_pred) + (1 - y) * np.log(1 - y_pred)))
    if name == "bce_with_logits":
        p = 1 / (1 + np.exp(-y_pred))
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    if name == "softmax_cross_entropy":
        softmax = np.exp(y_pred) / np.exp(y_pred).sum(axis=1, keepdims=True)
        return float(-np.mean(np.log(softmax[np.arange(len(y)), y])))
    raise AssertionError(name)


@pytest.mark.parametrize("name", NAMES)
def test_value_matches_formula(name: str, rng: np.random.Generator) -> None:
    loss = gw.losses.get(name)
    y_pred, y = problem(name, rng)
    assert isinstance(loss(y_pred, y), float)
    assert loss(y_pred, y) == pytest.approx(reference(name, y_pred, y), rel=1e-12)
    value, grad = loss.value_and_grad(y_pred, y)
    assert value == loss(y_pred, y)
    np.testing.assert_array_equal(grad, loss.grad(y_pred, y))


@pytest.mark.parametrize("name", NAMES)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), k=st.integers(1, 4))
def test_grad_matches_finite_differences(name: str, seed: int, n: int, k: int) -> None:
    loss = gw.losses.get(name)
    y_pred, y = problem(name, np.random.default_rng(seed), n, k)
    y_pred_before, y_before = y_pred.copy(), y.copy()
    grad = loss.grad(y_pred, y)
    assert grad.shape == y_pred.shape
    assert grad.dtype == np.float64
    h = 1e-6
    numeric = np.empty_like(y_pred)
    for index in np.ndindex(y_pred.shape):
        up, down = y_pred.copy(), y_pred.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (loss(up, y) - loss(down, y)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(y_pred, y_pred_before)  # losses are pure
    np.testing.assert_array_equal(y, y_before)


def test_known_values() -> None:
    mse, bce = gw.losses.get("mse"), gw.losses.get("bce")
    logits, ce = gw.losses.get("bce_with_logits"), gw.losses.get("softmax_cross_entropy")
    assert mse(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]])) == 2.5
    assert bce(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == pytest.approx(math.log(2))
    assert logits(np.array([0.0]), np.array([1.0])) == pytest.approx(math.log(2))
    assert ce(np.zeros((2, 4)), np.array([0, 3])) == pytest.approx(math.log(4))
    np.testing.assert_allclose(
        ce.grad(np.zeros((2, 4)), np.array([0, 3])),
        [[-0.375, 0.125, 0.125, 0.125], [0.125, 0.125, 0.125, -0.375]],
    )
    # The mean is over all elements, as torch's mse_loss: gradient 2 (y_pred - y) / N.
    np.testing.assert_allclose(mse.grad(np.array([[1.0, 2.0]]), np.zeros((1, 2))), [[1.0, 2.0]])


def test_mse_accepts_flat_targets_for_a_column() -> None:
    mse = gw.losses.get("mse")
    y_pred = np.array([[1.0], [2.0], [4.0]])
    assert mse(y_pred, np.array([0.0, 0.0, 0.0])) == pytest.approx(7.0)
    assert mse.grad(y_pred, np.zeros(3)).shape == (3, 1)


def test_bce_clamps_like_torch() -> None:
    bce = gw.losses.get("bce")
    # log(0) is clamped at -100: a confident wrong answer costs 100, not infinity.
    assert bce(np.array([0.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(100.0)
    assert bce(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert np.all(np.isfinite(bce.grad(np.array([0.0, 1.0]), np.array([1.0, 0.0]))))


@pytest.mark.parametrize("name", NAMES)
def test_float32_grad_stays_float32(name: str, rng: np.random.Generator) -> None:
    y_pred, y = problem(name, rng)
    y_pred = y_pred.astype(np.float32)
    if name != "softmax_cross_entropy":
        y = y.astype(np.float64)  # a float64 target does not promote the gradient
    loss = gw.losses.get(name)
    value, grad = loss.value_and_grad(y_pred, y)
    assert isinstance(value, float)
    assert grad.dtype == np.float32
    assert value == pytest.approx(reference(name, y_pred.astype(np.float64), y), rel=1e-5)


# ---------------------------------------------------------------------------------------------
# Numerics at the ends of [-1e4, 1e4]
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_extremes(dtype: type) -> None:
    loss = gw.losses.get("bce_with_logits")
    z = np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad = loss.value_and_grad(z, y)
        right = loss(z[:2], y[:2])
    assert right == 0.0
    assert value == pytest.approx(2e4 / 4, rel=1e-6)
    np.testing.assert_allclose(grad, [0.0, 0.0, 0.25, -0.25])
    assert grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_extremes(dtype: type) -> None:
    ce = gw.losses.get("softmax_cross_entropy")
    z = np.array([[1e4, -1e4], [1e4, -1e4], [-1e4, -1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        right = ce(z[:1], np.array([0]))
        wrong = ce(z[1:2], np.array([1]))
        tied = ce(z[2:], np.array([1]))
        grad = ce.grad(z, np.array([0, 1, 1]))
    assert right == 0.0
    assert wrong == pytest.approx(2e4, rel=1e-6)
    assert tied == pytest.approx(math.log(2), rel=1e-6)
    np.testing.assert_allclose(
        grad, np.array([[0.0, 0.0], [1.0, -1.0], [0.5, -0.5]]) / 3, atol=1e-7
    )
    assert grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mse_and_bce_extremes(dtype: type) -> None:
    mse, bce = gw.losses.get("mse"), gw.losses.get("bce")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert mse(np.array([1e4, -1e4], dtype=dtype), np.zeros(2)) == pytest.approx(1e8)
        value = bce(
            np.array([0.0, 1.0, 1e-30, 1 - 1e-16], dtype=dtype), np.array([1.0, 0.0, 0.0, 1.0])
        )
        grad = bce.grad(np.array([0.0, 1.0], dtype=dtype), np.array([1.0, 0.0]))
    assert math.isfinite(value)
    assert np.all(np.isfinite(grad))


# ---------------------------------------------------------------------------------------------
# Bad input: a clear error that names the argument, and nothing changed
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mse", "bce", "bce_with_logits"])
def test_target_shape_must_fit(name: str) -> None:
    loss = gw.losses.get(name)
    y_pred = np.full((4, 2), 0.5)
    for y in (np.full((4, 3), 0.5), np.full((4,), 0.5), np.full((2, 4), 0.5)):
        with pytest.raises(ValueError, match=r"y has shape .* y_pred"):
            loss(y_pred, y)


def test_softmax_cross_entropy_bad_labels() -> None:
    ce = gw.losses.get("softmax_cross_entropy")
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"label 4, outside the range \[0, 4\)"):
        ce(z, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="label -1"):
        ce(z, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        ce(z, np.array([[0], [1], [2]]))
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        ce(z, np.array([0, 1]))
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        ce(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(
        ValueError, match=r"y_pred must be logits of shape \(n_samples, n_classes\)"
    ):
        ce(np.zeros(3), np.array([0, 1, 2]))


def test_probability_checks() -> None:
    bce, logits = gw.losses.get("bce"), gw.losses.get("bce_with_logits")
    with pytest.raises(ValueError, match="y_pred must hold probabilities"):
        bce(np.array([1.5, 0.5]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="y_pred must hold probabilities"):
        bce(np.array([np.nan, 0.5]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"y must hold targets in \[0, 1\]"):
        bce(np.array([0.5, 0.5]), np.array([2.0, 0.0]))
    with pytest.raises(ValueError, match=r"y must hold targets in \[0, 1\]"):
        logits(np.array([0.5, 0.5]), np.array([-1.0, 0.0]))


def test_prediction_checks() -> None:
    mse = gw.losses.get("mse")
    with pytest.raises(ValueError, match="y_pred must not be empty"):
        mse(np.zeros((0, 1)), np.zeros((0, 1)))
    with pytest.raises(TypeError, match="y_pred"):
        mse(np.array(["a"]), np.array([1.0]))
    with pytest.raises(TypeError, match=r"^y must"):
        mse(np.array([1.0]), np.array(["a"]))


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown loss 'hinge'") as info:
        gw.losses.get("hinge")
    for name in NAMES:
        assert name in str(info.value)
    with pytest.raises(TypeError, match="loss"):
        gw.losses.get(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# float16 predictions: computed in float32, the gradient rounded back to float16
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_float16_predictions_match_float32_and_keep_their_dtype(
    name: str, rng: np.random.Generator
) -> None:
    y_pred, y = problem(name, rng)
    y16 = y_pred.astype(np.float16)
    loss = gw.losses.get(name)
    value16, grad16 = loss.value_and_grad(y16, y)
    value32, grad32 = loss.value_and_grad(y16.astype(np.float32), y)
    assert grad16.dtype == np.float16
    assert grad32.dtype == np.float32
    assert value16 == value32  # computed in float32 from the same float16 values
    np.testing.assert_array_equal(grad16, grad32.astype(np.float16))


def test_float16_mse_does_not_overflow() -> None:
    y16 = np.full((64, 1), 300.0, dtype=np.float16)
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.vdot(y16, y16))  # what float16 arithmetic would give
    value, grad = gw.losses.MSE().value_and_grad(y16, np.zeros((64, 1)))
    assert value == 90000.0
    np.testing.assert_array_equal(grad, np.full((64, 1), 2 * 300.0 / 64, dtype=np.float16))


def test_float16_cross_entropy_of_large_logits() -> None:
    z = np.array([[60000.0, 0.0, -60000.0]], dtype=np.float16)
    value, grad = gw.losses.SoftmaxCrossEntropy().value_and_grad(z, np.array([2]))
    assert value == 120000.0  # larger than float16's largest value, exact in float32
    np.testing.assert_array_equal(grad, np.array([[1.0, 0.0, -1.0]], dtype=np.float16))


def test_compute_dtype() -> None:
    assert gw.losses.compute_dtype(np.dtype(np.float16)) == np.float32
    assert gw.losses.compute_dtype(np.dtype(np.float32)) == np.float32
    assert gw.losses.compute_dtype(np.dtype(np.float64)) == np.float64
