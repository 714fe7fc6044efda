"""The recurrent network: backpropagation through time against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradwatch as gw


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    n_in=st.integers(1, 4),
    n_hidden=st.integers(1, 6),
    n_out=st.integers(1, 3),
    n_steps=st.integers(1, 8),
    n_samples=st.integers(1, 4),
    radius=st.sampled_from([0.5, 1.0, 1.5]),
    return_sequences=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_bptt_matches_finite_differences(
    n_in, n_hidden, n_out, n_steps, n_samples, radius, return_sequences, seed
):
    rng = np.random.default_rng(seed)
    rnn = gw.RNN(
        n_in,
        n_hidden,
        n_out,
        return_sequences=return_sequences,
        spectral_radius=radius,
        recurrent_init="normal",
        seed=seed,
    )
    x = rng.normal(size=(n_samples, n_steps, n_in))
    shape = (n_samples, n_steps, n_out) if return_sequences else (n_samples, n_out)
    y = rng.normal(size=shape)
    report = gw.gradcheck(rnn, x, y)
    assert report.max_rel_error < 1e-6, report


def test_dx_matches_finite_differences():
    rng = np.random.default_rng(0)
    rnn = gw.RNN(2, 5, 1, seed=3)
    x = rng.normal(size=(3, 4, 2))
    y = rng.normal(size=(3, 1))
    loss = gw.losses.get("mse")
    rnn.forward(x)
    dx = rnn.backward(loss.grad(rnn.forward(x), y))
    eps = 1e-6
    numeric = np.empty_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (loss(rnn.forward(up), y) - loss(rnn.forward(down), y)) / (2 * eps)
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-9)


def test_spectral_radius_is_set_exactly():
    rnn = gw.RNN(3, 16, 1, spectral_radius=1.3, recurrent_init="normal", seed=0)
    assert np.max(np.abs(np.linalg.eigvals(rnn.W_hh))) == pytest.approx(1.3)


def test_hidden_gradients_vanish_below_and_grow_above_radius_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 40, 2)) * 0.01  # small inputs: tanh stays near its linear regime
    for radius, shrinks in ((0.7, True), (1.3, False)):
        rnn = gw.RNN(2, 32, 1, spectral_radius=radius, seed=1, recurrent_init="orthogonal")
        rnn.loss_and_grads(x, np.ones((8, 1)))
        norms = rnn.hidden_grad_norms
        assert norms.shape == (40,)
        if shrinks:
            assert norms[0] < 1e-4 * norms[-1]
        else:
            assert norms[0] > 10 * norms[-1]


def test_params_are_the_arrays_themselves_and_float32_stays_float32():
    rnn = gw.RNN(2, 3, 1, dtype=np.float32)
    rnn.params()[1][0, 0] = 5.0
    assert rnn.W_hh[0, 0] == 5.0
    _, grads = rnn.loss_and_grads(np.ones((2, 3, 2)), np.zeros((2, 1)))
    assert all(g.dtype == np.float32 for g in grads)
    assert rnn.forward(np.ones((2, 3, 2))).dtype == np.float32


def test_train_accepts_sequences_and_learns():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5, 1))
    y = x.sum(axis=1)  # the sum of the sequence
    rnn = gw.RNN(1, 8, 1, seed=0)
    history = gw.train(rnn, x, y, optimizer=gw.optim.Adam(lr=0.02), steps=150, seed=0)
    assert history.loss[-1] < 0.1 * history.loss[0]
    assert history.layer_grad_norms.shape == (150, 3)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: gw.RNN(0, 3, 1), ValueError, "n_in"),
        (lambda: gw.RNN(2, 3, 1, spectral_radius=-1.0), ValueError, "spectral_radius"),
        (lambda: gw.RNN(2, 3, 1).forward(np.ones((2, 3))), ValueError, "n_steps"),
        (lambda: gw.RNN(2, 3, 1).forward(np.ones((2, 3, 4))), ValueError, "n_steps, 2"),
        (lambda: gw.RNN(2, 3, 1).backward(np.ones((2, 1))), RuntimeError, "before forward"),
        (lambda: gw.RNN(2, 3, 1, dtype=np.int64), TypeError, "dtype"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_backward_with_wrong_shape():
    rnn = gw.RNN(2, 3, 1)
    rnn.forward(np.ones((2, 4, 2)))
    with pytest.raises(ValueError, match="dy has shape"):
        rnn.backward(np.ones((2, 4, 1)))
