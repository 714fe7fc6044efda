"""The gated recurrent networks (LSTM, GRU) against PyTorch's equations, and truncated BPTT.

The references below are written from PyTorch's documented equations, in its layout (weights
``(gates * n_hidden, n_in)``, column vectors, ``bias_ih`` and ``bias_hh`` apart), independently
of the library's row-vector code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradwatch as gw


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def torch_lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """One step of torch.nn.LSTM: gates (i, f, g, o) in the rows of the weights."""
    a = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, f, g, o = np.split(a, 4, axis=-1)
    c_next = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c_next), c_next


def torch_gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """One step of torch.nn.GRU: gates (r, z, n); r multiplies (W_hn h + b_hn)."""
    gi = x @ weight_ih.T + bias_ih
    gh = h @ weight_hh.T + bias_hh
    i_r, i_z, i_n = np.split(gi, 3, axis=-1)
    h_r, h_z, h_n = np.split(gh, 3, axis=-1)
    r, z = sigmoid(i_r + h_r), sigmoid(i_z + h_z)
    n = np.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h, None


def torch_rnn_step(x, h, weight_ih, weight_hh, bias):
    return np.tanh(x @ weight_ih.T + h @ weight_hh.T + bias), None


def reference_step(net: Any) -> Callable[..., tuple[np.ndarray, np.ndarray | None]]:
    """The step of ``net`` as PyTorch computes it, from the library's arrays mapped to torch's."""
    if isinstance(net, gw.LSTM):
        split = np.random.default_rng(9).normal(size=net.b_h.shape)  # any split of b_h
        return functools.partial(
            torch_lstm_step,
            weight_ih=net.W_xh.T,
            weight_hh=net.W_hh.T,
            bias_ih=split,
            bias_hh=net.b_h - split,
        )
    if isinstance(net, gw.GRU):
        return lambda x, h, c: torch_gru_step(x, h, net.W_xh.T, net.W_hh.T, net.b_xh, net.b_hh)
    return lambda x, h, c: torch_rnn_step(x, h, net.W_xh.T, net.W_hh.T, net.b_h)


def reference_forward(net: Any, x: np.ndarray, start: int = 0, state=None) -> np.ndarray:
    """Outputs of the last step from ``state`` (zero by default) at step ``start``."""
    step = reference_step(net)
    n = x.shape[0]
    h, c = (
        state if state is not None else (np.zeros((n, net.n_hidden)), np.zeros((n, net.n_hidden)))
    )
    for t in range(start, x.shape[1]):
        h, c_next = step(x[:, t], h, c)
        c = c_next if c_next is not None else c
    return h @ net.W_hy + net.b_y


def reference_states(net: Any, x: np.ndarray, stop: int) -> tuple[np.ndarray, np.ndarray]:
    step = reference_step(net)
    n = x.shape[0]
    h, c = np.zeros((n, net.n_hidden)), np.zeros((n, net.n_hidden))
    for t in range(stop):
        h, c_next = step(x[:, t], h, c)
        c = c_next if c_next is not None else c
    return h, c


NETWORKS: dict[str, Any] = {"RNN": gw.RNN, "LSTM": gw.LSTM, "GRU": gw.GRU}


def random_biases(net: Any, rng: np.random.Generator) -> None:
    for name, p in zip(net.param_names(), net.params(), strict=True):
        if name.startswith("b"):
            p[...] = rng.normal(scale=0.5, size=p.shape)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_forward_is_pytorchs_equations(kind: str) -> None:
    rng = np.random.default_rng(0)
    net = NETWORKS[kind](3, 5, 2, seed=1)
    random_biases(net, rng)
    x = rng.normal(size=(4, 7, 3))
    np.testing.assert_allclose(net.forward(x), reference_forward(net, x), rtol=1e-12, atol=1e-14)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    kind=st.sampled_from(["LSTM", "GRU"]),
    n_in=st.integers(1, 3),
    n_hidden=st.integers(1, 4),
    n_out=st.integers(1, 2),
    n_steps=st.integers(1, 6),
    n_samples=st.integers(1, 3),
    return_sequences=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_bptt_matches_finite_differences(
    kind, n_in, n_hidden, n_out, n_steps, n_samples, return_sequences, seed
):
    rng = np.random.default_rng(seed)
    net = NETWORKS[kind](
        n_in, n_hidden, n_out, return_sequences=return_sequences, recurrent_init="normal", seed=seed
    )
    random_biases(net, rng)
    x = rng.normal(size=(n_samples, n_steps, n_in))
    shape = (n_samples, n_steps, n_out) if return_sequences else (n_samples, n_out)
    report = gw.gradcheck(net, x, rng.normal(size=shape))
    assert report.max_rel_error < 1e-6, report


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_backward_is_the_same_whatever_the_runs_of_steps(
    kind: str, return_sequences: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The backward pass forms its factors for runs of steps (gated._spans); how the steps are
    # cut must not change a bit of the result: one step per run against one run for all,
    # with a truncation window that does not fall on the runs' edges.
    rng = np.random.default_rng(7)
    n_steps = 7
    x = rng.normal(size=(3, n_steps, 2))
    y = rng.normal(size=(3, n_steps, 1) if return_sequences else (3, 1))
    results = {}
    for values in (1, 1 << 20):
        monkeypatch.setattr(gw.gated, "_SPAN_VALUES", values)
        assert len(gw.gated._spans(n_steps, 3 * 4)) == (n_steps if values == 1 else 1)
        net = NETWORKS[kind](2, 4, 1, return_sequences=return_sequences, bptt_steps=3, seed=2)
        random_biases(net, np.random.default_rng(8))
        _, grads = net.loss_and_grads(x, y)
        norms = [net.hidden_grad_norms, getattr(net, "cell_grad_norms", np.zeros(0))]
        results[values] = [g.copy() for g in grads] + norms
    for one_step, one_run in zip(results[1], results[1 << 20], strict=True):
        np.testing.assert_array_equal(one_step, one_run)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_dx_matches_finite_differences(kind: str) -> None:
    rng = np.random.default_rng(0)
    net = NETWORKS[kind](2, 4, 1, seed=3)
    x, y = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 1))
    loss = gw.losses.get("mse")
    dx = net.backward(loss.grad(net.forward(x), y))
    eps = 1e-6
    numeric = np.empty_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (loss(net.forward(up), y) - loss(net.forward(down), y)) / (2 * eps)
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-9)


def test_one_step_lstm_gradients_have_their_closed_form() -> None:
    # One step from zero state: c = i g, h = o tanh(c); with y = h W_hy + b_y and L = sum(y).
    rng = np.random.default_rng(0)
    lstm = gw.LSTM(2, 3, 1, seed=0)
    x = rng.normal(size=(5, 1, 2))
    lstm.forward(x)
    lstm.backward(np.ones((5, 1)))
    gates = {k: v[:, 0] for k, v in lstm.gates.items()}
    i, f, g, o = gates["input"], gates["forget"], gates["cell"], gates["output"]
    c = i * g
    dh = np.ones((5, 1)) @ lstm.W_hy.T
    dc = dh * o * (1 - np.tanh(c) ** 2)
    expected = np.concatenate(
        [
            dc * g * i * (1 - i),
            np.zeros_like(f),
            dc * i * (1 - g**2),
            dh * np.tanh(c) * o * (1 - o),
        ],
        axis=1,
    )
    np.testing.assert_allclose(lstm.db_h, expected.sum(axis=0), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(lstm.dW_hh, 0.0)  # h_0 = 0


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_jacobians_match_finite_differences_of_the_step(kind: str) -> None:
    rng = np.random.default_rng(1)
    net = NETWORKS[kind](2, 3, 1, recurrent_init="normal", seed=2)
    random_biases(net, rng)
    x = rng.normal(size=(2, 5, 2))
    J = net.recurrent_jacobians(x)
    lstm = kind == "LSTM"
    size = net.n_hidden
    assert J.shape == (2, 5, 2 * size if lstm else size, 2 * size if lstm else size)
    step = reference_step(net)
    t = 3
    h, c = reference_states(net, x, t)
    state = np.concatenate([h, c], axis=1) if lstm else h

    def advance(s: np.ndarray) -> np.ndarray:
        h_next, c_next = step(x[:, t], s[:, :size], s[:, size:] if lstm else c)
        return np.concatenate([h_next, c_next], axis=1) if lstm else h_next

    eps = 1e-6
    numeric = np.empty_like(J[:, t])
    for j in range(state.shape[1]):
        up, down = state.copy(), state.copy()
        up[:, j] += eps
        down[:, j] -= eps
        numeric[:, :, j] = (advance(up) - advance(down)) / (2 * eps)
    np.testing.assert_allclose(J[:, t], numeric, rtol=1e-6, atol=1e-9)


def test_lstm_cell_block_is_the_forget_gate_and_open_gates_copy() -> None:
    x = np.random.default_rng(0).normal(size=(3, 6, 1))
    lstm = gw.LSTM(1, 4, 1, forget_bias=0.0, seed=0)
    J = lstm.recurrent_jacobians(x)
    np.testing.assert_array_equal(J[..., 4:, 4:], lstm.gates["forget"][..., None] * np.eye(4))
    gru = gw.GRU(1, 4, 1, seed=0)
    gru.b_hh[4:8] = 20.0  # update gate open: h_t = h_{t-1}
    np.testing.assert_allclose(
        gru.recurrent_jacobians(x), np.broadcast_to(np.eye(4), (3, 6, 4, 4)), atol=1e-7
    )


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_truncated_bptt_is_the_gradient_with_the_state_detached(kind: str) -> None:
    # With bptt_steps = k and one output at the end, the gradient is that of the last k steps
    # run from the state at T - k held constant (PyTorch's h.detach()).
    rng = np.random.default_rng(4)
    n_steps, k = 7, 3
    net = NETWORKS[kind](2, 3, 1, recurrent_init="normal", bptt_steps=k, seed=5)
    random_biases(net, rng)
    x, y = rng.normal(size=(4, n_steps, 2)), rng.normal(size=(4, 1))
    _, grads = net.loss_and_grads(x, y)
    frozen = reference_states(net, x, n_steps - k)
    loss = gw.losses.get("mse")
    eps = 1e-6
    for name, p, g in zip(net.param_names(), net.params(), grads, strict=True):
        numeric = np.empty_like(p)
        for index in np.ndindex(p.shape):
            original = p[index]
            p[index] = original + eps
            up = loss(reference_forward(net, x, n_steps - k, frozen), y)
            p[index] = original - eps
            down = loss(reference_forward(net, x, n_steps - k, frozen), y)
            p[index] = original
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9, err_msg=name)
    assert np.all(net.hidden_grad_norms[: n_steps - k] == 0)
    assert np.all(net.hidden_grad_norms[n_steps - k :] > 0)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_truncation_longer_than_the_sequence_changes_nothing(kind: str) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 5, 1))
    full = NETWORKS[kind](2, 3, 1, return_sequences=True, seed=0)
    cut = NETWORKS[kind](2, 3, 1, return_sequences=True, seed=0, bptt_steps=5)
    _, g_full = full.loss_and_grads(x, y)
    _, g_cut = cut.loss_and_grads(x, y)
    for a, b in zip(g_full, g_cut, strict=True):
        np.testing.assert_array_equal(a, b)
    cut.bptt_steps = 2  # windows of 2 from the end: some gradient is lost
    _, g_short = cut.loss_and_grads(x, y)
    assert not np.allclose(g_short[1], g_full[1])


def test_pytorch_layout_and_forget_bias() -> None:
    lstm = gw.LSTM(3, 4, 2, forget_bias=1.5, seed=0)
    assert [p.shape for p in lstm.params()] == [(3, 16), (4, 16), (16,), (4, 2), (2,)]
    np.testing.assert_array_equal(lstm.b_h, np.r_[np.zeros(4), np.full(4, 1.5), np.zeros(8)])
    # Each gate's recurrent block is orthogonal on its own; every array is C-contiguous.
    for k in range(4):
        block = lstm.W_hh[:, 4 * k : 4 * (k + 1)]
        np.testing.assert_allclose(block @ block.T, np.eye(4), atol=1e-12)
    gru = gw.GRU(3, 4, 2, seed=0)
    assert [p.shape for p in gru.params()] == [(3, 12), (4, 12), (12,), (12,), (4, 2), (2,)]
    for net in (lstm, gru, gw.RNN(3, 4, 2)):
        assert all(p.flags.c_contiguous for p in net.params())
        assert all(g.flags.c_contiguous for g in net.grads())


def test_float32_stays_float32_and_params_are_the_arrays() -> None:
    for cls in (gw.LSTM, gw.GRU):
        net = cls(2, 3, 1, dtype=np.float32)
        net.params()[1][0, 0] = 5.0
        assert net.W_hh[0, 0] == 5.0
        _, grads = net.loss_and_grads(np.ones((2, 3, 2)), np.zeros((2, 1)))
        assert all(g.dtype == np.float32 for g in grads)
        assert net.forward(np.ones((2, 3, 2))).dtype == np.float32


@pytest.mark.parametrize("cls", [gw.LSTM, gw.GRU])
def test_train_with_clipping_and_adam_learns(cls: Any) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5, 1))
    y = x.sum(axis=1)
    net = cls(1, 8, 1, seed=0)
    clip = functools.partial(gw.clip.clip_by_global_norm, max_norm=1.0)
    history = gw.train(net, x, y, optimizer=gw.optim.Adam(lr=0.02), steps=150, clip=clip, seed=0)
    assert history.loss[-1] < 0.1 * history.loss[0]
    assert history.layer_grad_norms.shape == (150, 3)


def test_gated_networks_keep_gradient_longer_when_the_gate_is_open() -> None:
    x = np.random.default_rng(0).normal(size=(8, 30, 1))
    dy = np.ones((8, 1))
    ends = {}
    for bias in (0.0, 3.0):
        lstm = gw.LSTM(1, 16, 1, forget_bias=bias, seed=0)
        lstm.forward(x)
        lstm.backward(dy)
        ends[bias] = lstm.cell_grad_norms[0] / lstm.cell_grad_norms[-1]
    assert ends[3.0] > 1e3 * ends[0.0]


@pytest.mark.parametrize("cls", [gw.LSTM, gw.GRU, gw.RNN])
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda cls: cls(0, 3, 1), ValueError, "n_in"),
        (lambda cls: cls(2, 0, 1), ValueError, "n_hidden"),
        (lambda cls: cls(2, -3, 1), ValueError, "n_hidden"),
        (lambda cls: cls(2, 3, 0), ValueError, "n_out"),
        (lambda cls: cls(2, 3, 1, bptt_steps=0), ValueError, "bptt_steps"),
        (lambda cls: cls(2, 3, 1).forward(np.ones((2, 3))), ValueError, "n_steps"),
        (lambda cls: cls(2, 3, 1).forward(np.ones((2, 3, 4))), ValueError, "n_steps, 2"),
        (lambda cls: cls(2, 3, 1).forward(np.ones((2, 0, 2))), ValueError, "at least one time"),
        (lambda cls: cls(2, 3, 1).forward(np.ones((2, 3, 2, 1))), ValueError, "n_steps"),
        (lambda cls: cls(2, 3, 1).backward(np.ones((2, 1))), RuntimeError, "before forward"),
        (lambda cls: cls(2, 3, 1, dtype=np.int64), TypeError, "dtype"),
        (lambda cls: cls(2, 3, 1, seed=-1), ValueError, "seed"),
    ],
)
def test_bad_input(cls: Any, call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call(cls)


def test_bad_forget_bias_and_gates_before_forward() -> None:
    with pytest.raises(TypeError, match="forget_bias"):
        gw.LSTM(2, 3, 1, forget_bias="1")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="forward"):
        _ = gw.LSTM(2, 3, 1).gates
    with pytest.raises(RuntimeError, match="forward"):
        _ = gw.GRU(2, 3, 1).gates


@pytest.mark.parametrize("cls", [gw.LSTM, gw.GRU])
def test_backward_with_wrong_shape(cls: Any) -> None:
    net = cls(2, 3, 1)
    net.forward(np.ones((2, 4, 2)))
    with pytest.raises(ValueError, match="dy has shape"):
        net.backward(np.ones((2, 4, 1)))


def test_repr() -> None:
    assert repr(gw.LSTM(2, 3, 1)) == "LSTM(n_in=2, n_hidden=3, n_out=1, dtype=float64)"
    assert (
        repr(gw.GRU(2, 3, 1, dtype=np.float32)) == "GRU(n_in=2, n_hidden=3, n_out=1, dtype=float32)"
    )
