"""MLP: backpropagation against finite differences (property-based), by hand, dtypes, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gradwatch as gw

ACTIVATIONS = gw.activations.names()
LOSSES = gw.losses.names()
KINKED = {"relu", "leaky_relu", "elu", "selu"}
# The output activation and targets that fit each loss.
OUTPUT_ACTIVATION = {
    "mse": "identity",
    "bce": "sigmoid",
    "bce_with_logits": "identity",
    "softmax_cross_entropy": "identity",
}


def targets(loss: str, rng: np.random.Generator, n_samples: int, n_out: int) -> np.ndarray:
    if loss == "mse":
        return rng.normal(size=(n_samples, n_out))
    if loss in ("bce", "bce_with_logits"):
        return rng.uniform(0.0, 1.0, size=(n_samples, n_out))
    if loss == "softmax_cross_entropy":
        return rng.integers(0, n_out, size=n_samples)
    raise AssertionError(loss)


def pre_activations(net: gw.MLP, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's z, computed independently of the network's own forward pass."""
    zs, a = [], x
    for layer in net.layers:
        z = a @ layer.W + layer.b
        zs.append(z)
        a = layer.activation(z)
    return zs


def snapshot(net: gw.MLP) -> list[np.ndarray]:
    return [p.copy() for p in net.params()]


def assert_unchanged(net: gw.MLP, before: list[np.ndarray]) -> None:
    for p, q in zip(net.params(), before, strict=True):
        np.testing.assert_array_equal(p, q)


# ---------------------------------------------------------------------------------------------
# Every backward pass against central finite differences, property-based
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@given(
    n_in=st.integers(1, 4),
    hidden=st.lists(st.integers(1, 5), min_size=0, max_size=3),  # depth 1 to 4 layers
    n_out=st.integers(1, 3),
    n_samples=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_backward_matches_finite_differences(
    activation: str,
    loss: str,
    n_in: int,
    hidden: list[int],
    n_out: int,
    n_samples: int,
    seed: int,
) -> None:
    if loss == "softmax_cross_entropy":
        n_out += 1  # at least two classes
    rng = np.random.default_rng(seed)
    sizes = [n_in, *hidden, n_out]
    net = gw.MLP(
        sizes,
        activation=activation,
        output_activation=OUTPUT_ACTIVATION[loss],
        init="xavier_normal",
        bias_init=gw.init.get("normal", std=0.3),
        seed=rng,
    )
    x = rng.normal(size=(n_samples, n_in))
    y = targets(loss, rng, n_samples, n_out)
    if loss == "bce":
        # BCE of probabilities loses digits as p nears 0 or 1 (1 - p cancels): that is why
        # bce_with_logits exists. Keep to the range where the loss itself is well conditioned.
        p = net.forward(x)
        assume(np.all((p > 1e-3) & (p < 1 - 1e-3)))
    if activation in KINKED and hidden:
        # A finite difference across a kink measures neither one-sided slope.
        assume(all(np.abs(z).min() >= 1e-4 for z in pre_activations(net, x)[:-1]))
    # eps = 1e-5: truncation error ~eps^2 stays negligible, and the rounding error of the loss,
    # ~1e-16 |L| / eps, sits well below the threshold. With eps = 1e-6 it can reach ~1e-5 (e.g.
    # bce of a probability near 1: identity-bce, n_in=1, hidden=[3, 2, 3], n_out=3, seed=3).
    report = gw.gradcheck(net, x, y, loss=loss, eps=1e-5)
    assert report.max_rel_error < 1e-6, report
    assert report.passed
    # The gradient that reaches the input, too: dL/dx against finite differences in x, with
    # gradcheck's measure of relative error.
    loss_fn = gw.losses.get(loss)
    dx = net.backward(loss_fn.grad(net.forward(x), y))
    h = 1e-5
    numeric = np.empty_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (loss_fn(net.forward(up), y) - loss_fn(net.forward(down), y)) / (2 * h)
    floor = report.atol / report.rtol
    errors = np.abs(dx - numeric) / np.maximum(np.maximum(np.abs(dx), np.abs(numeric)), floor)
    assert errors.max() < 1e-6, (dx, numeric)


@given(
    activations=st.lists(st.sampled_from(ACTIVATIONS), min_size=1, max_size=3),
    width=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_backward_with_a_different_activation_per_layer(
    activations: list[str], width: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    sizes = [3] + [width] * len(activations) + [2]
    net = gw.MLP(sizes, activation=activations, bias_init=gw.init.get("normal", std=0.3), seed=rng)
    x = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 2))
    if KINKED & set(activations):
        assume(all(np.abs(z).min() >= 1e-4 for z in pre_activations(net, x)[:-1]))
    assert gw.gradcheck(net, x, y, eps=1e-5).max_rel_error < 1e-6


# ---------------------------------------------------------------------------------------------
# By hand
# ---------------------------------------------------------------------------------------------


def test_backward_by_hand_linear_chain() -> None:
    net = gw.MLP([1, 1, 1], activation="identity")
    net.layers[0].W[...] = 2.0
    net.layers[0].b[...] = 1.0
    net.layers[1].W[...] = 3.0
    net.layers[1].b[...] = 0.0
    # h = 2*1 + 1 = 3, y = 3*3 = 9; L = (9 - 0)^2 = 81, dL/dy = 18.
    loss, grads = net.loss_and_grads(np.array([[1.0]]), np.array([[0.0]]), loss="mse")
    assert loss == 81.0
    dW1, db1, dW2, db2 = (g.item() for g in grads)
    assert (dW2, db2) == (18.0 * 3, 18.0)  # dL/dy * h, dL/dy
    assert (dW1, db1) == (18.0 * 3 * 1, 18.0 * 3)  # dL/dh = dL/dy * W2; times x, times 1
    dx = net.backward(np.array([[18.0]]))
    assert dx.item() == 18.0 * 3 * 2


def test_backward_by_hand_tanh_hidden_layer() -> None:
    net = gw.MLP([1, 1, 1], activation="tanh")
    w1, b1, w2, b2, x, target = 2.0, -0.5, 1.5, 0.25, 0.5, 1.0
    for p, value in zip(net.params(), (w1, b1, w2, b2), strict=True):
        p[...] = value
    z = w1 * x + b1
    h = math.tanh(z)
    y = w2 * h + b2
    dy = 2 * (y - target)
    dh = dy * w2
    dz = dh * (1 - h * h)
    loss, grads = net.loss_and_grads(np.array([[x]]), np.array([[target]]))
    assert loss == pytest.approx((y - target) ** 2, rel=1e-15)
    np.testing.assert_allclose([g.item() for g in grads], [dz * x, dz, dy * h, dy], rtol=1e-14)


def test_loss_and_grads_equals_forward_loss_backward(rng: np.random.Generator) -> None:
    net = gw.MLP([3, 5, 4, 2], activation="gelu", seed=1)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    loss, grads = net.loss_and_grads(x, y, loss="mse")
    copies = [g.copy() for g in grads]
    mse = gw.losses.get("mse")
    y_pred = net.forward(x)
    assert mse(y_pred, y) == loss
    net.backward(mse.grad(y_pred, y))
    for g, c in zip(net.grads(), copies, strict=True):
        np.testing.assert_array_equal(g, c)


# ---------------------------------------------------------------------------------------------
# The arrays themselves
# ---------------------------------------------------------------------------------------------


def test_params_and_grads_are_the_arrays_themselves(rng: np.random.Generator) -> None:
    net = gw.MLP([2, 3, 1], activation="tanh", seed=0)
    params = net.params()
    assert [p.shape for p in params] == [(2, 3), (3,), (3, 1), (1,)]
    assert params[0] is net.layers[0].W
    assert params[1] is net.layers[0].b
    assert params[2] is net.layers[1].W
    assert params[3] is net.layers[1].b
    x = rng.normal(size=(4, 2))
    before = net.forward(x).copy()
    params[3] += 1.0  # mutating the returned array moves the network's output
    np.testing.assert_allclose(net.forward(x), before + 1.0)
    params[0][...] = 0.0
    expected = np.tanh(net.layers[0].b) @ net.layers[1].W + net.layers[1].b
    np.testing.assert_allclose(net.forward(x), np.broadcast_to(expected, (4, 1)))

    grads = net.grads()
    _, returned = net.loss_and_grads(x, rng.normal(size=(4, 1)))
    for g, r, layer_grad in zip(
        grads, returned, [a for layer in net.layers for a in (layer.dW, layer.db)], strict=True
    ):
        assert g is r
        assert g is layer_grad
    assert np.any(grads[3] != 0)  # db of the last layer: the mean error, not zero
    assert net.param_names() == ["layers[0].W", "layers[0].b", "layers[1].W", "layers[1].b"]
    assert net.n_params == 2 * 3 + 3 + 3 + 1
    assert net.sizes == [2, 3, 1]


def test_sgd_step_through_params_changes_the_network(rng: np.random.Generator) -> None:
    net = gw.MLP([2, 4, 1], seed=0)
    x, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    loss_before, _ = net.loss_and_grads(x, y)
    gw.optim.SGD(lr=0.05).step(net.params(), net.grads())
    loss_after, _ = net.loss_and_grads(x, y)
    assert loss_after < loss_before


# ---------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_float32_network_stays_float32(loss: str, rng: np.random.Generator) -> None:
    n_out = 3
    net = gw.MLP(
        [4, 5, n_out],
        activation="tanh",
        output_activation=OUTPUT_ACTIVATION[loss],
        seed=0,
        dtype=np.float32,
    )
    assert net.dtype == np.float32
    for p in net.params() + net.grads():
        assert p.dtype == np.float32
    x = rng.normal(size=(6, 4)).astype(np.float32)
    y = targets(loss, rng, 6, n_out)
    y_pred = net.forward(x)
    assert y_pred.dtype == np.float32
    loss_fn = gw.losses.get(loss)
    _, dy = loss_fn.value_and_grad(y_pred, y)
    assert dy.dtype == np.float32
    dx = net.backward(dy)
    assert dx.dtype == np.float32
    value, grads = net.loss_and_grads(x, y, loss=loss)
    assert isinstance(value, float)
    for layer in net.layers:
        assert layer.W.dtype == layer.b.dtype == layer.dW.dtype == layer.db.dtype == np.float32
    for g in grads:
        assert g.dtype == np.float32


def test_float64_input_to_float32_network_is_converted(rng: np.random.Generator) -> None:
    net32 = gw.MLP([3, 4, 2], activation="sigmoid", seed=3, dtype=np.float32)
    net64 = gw.MLP([3, 4, 2], activation="sigmoid", seed=3)
    x = rng.normal(size=(5, 3))
    y32 = net32.forward(x)
    assert y32.dtype == np.float32
    assert x.dtype == np.float64  # the caller's array is not touched
    np.testing.assert_allclose(y32, net64.forward(x), rtol=1e-5, atol=1e-6)
    dx = net32.backward(np.ones((5, 2)))  # a float64 dy is converted too
    assert dx.dtype == np.float32
    assert net32.layers[0].dW.dtype == np.float32
    # Integer inputs are read as numbers.
    assert net64.forward(np.array([[1, 0, 2]])).dtype == np.float64


def test_same_seed_same_network() -> None:
    first = gw.MLP([3, 4, 2], init="he_normal", bias_init="uniform", seed=11)
    again = gw.MLP([3, 4, 2], init="he_normal", bias_init="uniform", seed=11)
    other = gw.MLP([3, 4, 2], init="he_normal", bias_init="uniform", seed=12)
    for p, q in zip(first.params(), again.params(), strict=True):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(first.params()[0], other.params()[0])


def test_activation_per_layer_and_repr() -> None:
    net = gw.MLP([2, 3, 3, 1], activation=["relu", "tanh"], output_activation="sigmoid")
    assert [layer.activation.name for layer in net.layers] == ["relu", "tanh", "sigmoid"]
    assert "mixed" in repr(net)
    assert (
        repr(gw.MLP([2, 3, 1]))
        == "MLP([2, 3, 1], activation=Tanh(), output_activation=Identity(), dtype=float64)"
    )
    single = gw.MLP([2, 1], activation="relu")
    assert len(single.layers) == 1
    assert single.layers[0].activation.name == "identity"


# ---------------------------------------------------------------------------------------------
# Bad input: a clear error that names the argument, and nothing changed
# ---------------------------------------------------------------------------------------------


def test_wrong_input_width(rng: np.random.Generator) -> None:
    net = gw.MLP([2, 3, 1], seed=0)
    before = snapshot(net)
    x = rng.normal(size=(5, 3))
    x_before = x.copy()
    with pytest.raises(ValueError, match=r"x has 3 features but layer 0 expects n_in=2"):
        net.forward(x)
    with pytest.raises(ValueError, match="n_in=2"):
        net.loss_and_grads(x, np.zeros((5, 1)))
    with pytest.raises(
        ValueError, match=r"x must be 2-D with shape \(n_samples, 2\).*x\[None, :\]"
    ):
        net.forward(np.zeros(2))
    assert_unchanged(net, before)
    np.testing.assert_array_equal(x, x_before)
    # A failed forward leaves the previous state for backward intact.
    with pytest.raises(RuntimeError, match="backward called before forward"):
        net.backward(np.zeros((5, 1)))


@pytest.mark.parametrize("loss", LOSSES)
def test_targets_that_do_not_fit_the_loss(loss: str, rng: np.random.Generator) -> None:
    net = gw.MLP([2, 3, 2], output_activation=OUTPUT_ACTIVATION[loss], seed=0)
    before, grads_before = snapshot(net), [g.copy() for g in net.grads()]
    x = rng.normal(size=(4, 2))
    bad = np.zeros((4, 3), dtype=np.int64 if loss == "softmax_cross_entropy" else np.float64)
    with pytest.raises(ValueError, match="y"):
        net.loss_and_grads(x, bad, loss=loss)
    assert_unchanged(net, before)
    for g, c in zip(net.grads(), grads_before, strict=True):
        np.testing.assert_array_equal(g, c)


def test_class_labels_out_of_range(rng: np.random.Generator) -> None:
    net = gw.MLP([2, 3, 3], seed=0)
    before = snapshot(net)
    labels = np.array([0, 1, 3, 2])
    with pytest.raises(ValueError, match=r"label 3, outside the range \[0, 3\)"):
        net.loss_and_grads(rng.normal(size=(4, 2)), labels, loss="softmax_cross_entropy")
    assert_unchanged(net, before)
    np.testing.assert_array_equal(labels, [0, 1, 3, 2])


def test_backward_before_forward_and_wrong_dy() -> None:
    net = gw.MLP([2, 3, 1])
    with pytest.raises(RuntimeError, match="backward called before forward"):
        net.backward(np.ones((4, 1)))
    net.forward(np.ones((4, 2)))
    before = snapshot(net)
    grads_before = [g.copy() for g in net.grads()]
    with pytest.raises(
        ValueError, match=r"dy has shape \(4, 2\) but the last forward output has shape \(4, 1\)"
    ):
        net.backward(np.ones((4, 2)))
    with pytest.raises(TypeError, match="dy"):
        net.backward(np.array([["a"]] * 4))
    assert_unchanged(net, before)
    for g, c in zip(net.grads(), grads_before, strict=True):
        np.testing.assert_array_equal(g, c)


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown activation 'sofmax'") as info:
        gw.MLP([2, 1], output_activation="sofmax")
    assert all(name in str(info.value) for name in ACTIVATIONS)
    with pytest.raises(ValueError, match="unknown initialiser 'glorot'") as info:
        gw.MLP([2, 1], init="glorot")
    assert all(name in str(info.value) for name in gw.init.names())
    net = gw.MLP([2, 1])
    before = snapshot(net)
    with pytest.raises(ValueError, match="unknown loss 'l1'") as info:
        net.loss_and_grads(np.ones((1, 2)), np.ones((1, 1)), loss="l1")
    assert all(name in str(info.value) for name in LOSSES)
    assert_unchanged(net, before)


def test_bad_construction() -> None:
    with pytest.raises(TypeError, match="sizes"):
        gw.MLP("21")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sizes"):
        gw.MLP(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sizes"):
        gw.MLP([2])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive int"):
        gw.MLP([2, 0, 1])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive int"):
        gw.MLP([2, 2.5, 1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="activation lists 1 activations"):
        gw.MLP([2, 3, 3, 1], activation=["relu"])
    with pytest.raises(TypeError, match="dtype"):
        gw.MLP([2, 1], dtype=np.int64)
    with pytest.raises(TypeError, match="seed"):
        gw.MLP([2, 1], seed=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="x must hold real numbers"):
        gw.MLP([2, 1]).forward(np.array([["a", "b"]]))


# ---------------------------------------------------------------------------------------------
# Arguments named in errors; sizes as an array; loss_and_grads skips dx
# ---------------------------------------------------------------------------------------------


def test_sizes_as_an_integer_array() -> None:
    for sizes in (np.array([4, 8, 1]), np.array([4, 8, 1], dtype=np.uint8), (4, 8, 1)):
        net = gw.MLP(sizes, seed=3)
        assert net.sizes == [4, 8, 1]
        assert all(isinstance(n, int) for n in net.sizes)
        reference = gw.MLP([4, 8, 1], seed=3)
        for p, q in zip(net.params(), reference.params(), strict=True):
            np.testing.assert_array_equal(p, q)
    with pytest.raises(
        TypeError, match=r"^sizes must be a sequence of ints or a 1-D integer array"
    ):
        gw.MLP(np.array([4.0, 8.0, 1.0]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^sizes must be .* shape \(1, 3\)"):
        gw.MLP(np.array([[4, 8, 1]]))
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive int"):
        gw.MLP(np.array([4, 0, 1]))
    with pytest.raises(ValueError, match="sizes needs at least"):
        gw.MLP(np.array([4]))


def test_activation_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match=r"^activation must be a name such as 'tanh'.*got None"):
        gw.MLP([2, 3, 1], activation=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^activation must be .*got 3"):
        gw.MLP([2, 3, 1], activation=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^activation\[1\] must be a name or an Activation"):
        gw.MLP([2, 3, 3, 1], activation=["relu", None])  # type: ignore[list-item]


def test_a_negative_seed_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^seed must be a non-negative int seed, got -1"):
        gw.MLP([2, 1], seed=-1)
    with pytest.raises(ValueError, match=r"^seed must be a non-negative int seed"):
        gw.MLP([2, 1], seed=np.int64(-5))
    with pytest.raises(ValueError, match=r"^rng must be a non-negative int seed, got -1"):
        gw.Dense(2, 1, rng=-1)
    with pytest.raises(ValueError, match=r"^seed must be a non-negative int seed, got -1"):
        gw.RNN(2, 3, 1, seed=-1)


def test_rnn_spectral_radius_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match=r"^spectral_radius must be a positive number, got '1'"):
        gw.RNN(2, 3, 1, spectral_radius="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^spectral_radius must be a positive finite number"):
        gw.RNN(2, 3, 1, spectral_radius=float("inf"))
    rnn = gw.RNN(2, 3, 1, spectral_radius=np.float32(0.5), recurrent_init="normal")
    assert float(np.max(np.abs(np.linalg.eigvals(rnn.W_hh)))) == pytest.approx(0.5, rel=1e-12)


RAGGED = [[1.0, 2.0], [3.0]]


def test_ragged_x_names_x() -> None:
    net = gw.MLP([2, 1])
    before = snapshot(net)
    with pytest.raises(ValueError, match=r"^x is ragged: its rows have unequal lengths"):
        net.forward(RAGGED)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^x is ragged"):
        net.loss_and_grads(RAGGED, np.zeros((2, 1)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^y is ragged"):
        net.loss_and_grads(np.zeros((2, 2)), [[0.0], []])  # type: ignore[arg-type]
    assert_unchanged(net, before)
    rnn = gw.RNN(2, 3, 1)
    with pytest.raises(ValueError, match=r"^x is ragged"):
        rnn.forward([[[1.0, 2.0]], [[1.0, 2.0], [3.0, 4.0]]])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^x is ragged"):
        rnn.loss_and_grads([[[1.0, 2.0]], [[1.0]]], np.zeros((2, 1)))  # type: ignore[arg-type]


def test_loss_and_grads_skips_dx_of_the_first_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    net = gw.MLP([3, 5, 4, 2], seed=0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    loss, grads = net.loss_and_grads(x, y)
    expected = [g.copy() for g in grads]
    calls: list[tuple[int, bool]] = []
    original = gw.layers.Dense.backward

    def spy(self: gw.layers.Dense, da: np.ndarray, *, need_dx: bool = True) -> object:
        calls.append((net.layers.index(self), need_dx))
        return original(self, da, need_dx=need_dx)

    monkeypatch.setattr(gw.layers.Dense, "backward", spy)
    again, grads = net.loss_and_grads(x, y)
    assert calls == [(2, True), (1, True), (0, False)]  # nobody reads dL/dx
    assert again == loss
    for g, h in zip(grads, expected, strict=True):
        np.testing.assert_array_equal(g, h)
    calls.clear()
    dy = rng.normal(size=(6, 2))
    net.forward(x)
    dx = net.backward(dy)  # backward still returns dx, as documented
    assert calls == [(2, True), (1, True), (0, True)]
    assert dx.shape == (6, 3)


def test_loss_and_grads_with_a_layer_subclass_that_predates_need_dx() -> None:
    class OldLayer(gw.layers.Dense):
        def backward(self, da: np.ndarray) -> np.ndarray:  # type: ignore[override]
            return super().backward(da)

    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 1))
    net = gw.MLP([3, 4, 1], seed=0)
    reference = [g.copy() for g in net.loss_and_grads(x, y)[1]]
    net.layers[0].__class__ = OldLayer
    for g, h in zip(net.loss_and_grads(x, y)[1], reference, strict=True):
        np.testing.assert_array_equal(g, h)


# ---------------------------------------------------------------------------------------------
# Normalised and residual MLPs
# ---------------------------------------------------------------------------------------------

VARIANTS = [
    (None, False),
    ("layer", False),
    ("batch", False),
    (None, True),
    ("layer", True),
    ("batch", True),
]


@pytest.mark.parametrize(("norm", "residual"), VARIANTS)
@pytest.mark.parametrize("activation", ["tanh", "gelu", "sigmoid"])
def test_every_variant_matches_finite_differences(
    norm: str | None, residual: bool, activation: str, rng: np.random.Generator
) -> None:
    net = gw.MLP([3, 4, 4, 4, 2], activation, norm=norm, residual=residual, seed=1)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    report = gw.gradcheck(net, x, y, eps=1e-5)
    assert report.max_rel_error < 1e-6, report
    assert net.backward(np.ones((5, 2))).shape == (5, 3)


def test_the_blocks_of_each_variant() -> None:
    sizes = [2, 6, 6, 6, 1]
    plain = gw.MLP(sizes, "relu")
    assert all(type(block) is gw.Dense for block in plain.layers)
    normed = gw.MLP(sizes, "relu", norm="batch")
    assert [type(b).__name__ for b in normed.layers] == ["Sequential"] * 3 + ["Dense"]
    assert [type(layer).__name__ for layer in normed.layers[0].layers] == [
        "Dense",
        "BatchNorm",
        "ActivationLayer",
    ]
    assert normed.layers[0].layers[0].activation.name == "identity"
    assert normed.layers[0].layers[2].activation.name == "relu"
    residual = gw.MLP(sizes, "relu", norm="layer", residual=True)
    assert [type(b).__name__ for b in residual.layers] == ["Dense", "Residual", "Residual", "Dense"]
    assert residual.layers[0].activation.name == "relu"  # the first layer stays plain
    branch = residual.layers[1].block.layers
    assert [type(layer).__name__ for layer in branch] == ["LayerNorm", "ActivationLayer", "Dense"]
    bare = gw.MLP(sizes, "relu", residual=True)
    assert [type(layer).__name__ for layer in bare.layers[1].block.layers] == [
        "ActivationLayer",
        "Dense",
    ]
    for net in (plain, normed, residual, bare):
        assert net.sizes == sizes
        assert len(net.layers) == len(sizes) - 1


@pytest.mark.parametrize(("norm", "residual"), VARIANTS[1:])
def test_every_variant_draws_the_plain_networks_weights(norm: str | None, residual: bool) -> None:
    plain = gw.MLP([3, 5, 5, 5, 2], "tanh", seed=7)
    other = gw.MLP([3, 5, 5, 5, 2], "tanh", seed=7, norm=norm, residual=residual)
    weights = [
        p
        for p, name in zip(other.params(), other.param_names(), strict=True)
        if name.endswith((".W", ".b"))
    ]
    for p, q in zip(plain.params(), weights, strict=True):
        np.testing.assert_array_equal(p, q)


def test_residual_mlp_closed_form_with_identity_activations(rng: np.random.Generator) -> None:
    net = gw.MLP([2, 3, 3, 3, 1], "identity", residual=True, seed=0)
    W = [
        layer.W
        for layer in (
            net.layers[0],
            net.layers[1].block.layers[1],
            net.layers[2].block.layers[1],
            net.layers[3],
        )
    ]
    product = W[0] @ (np.eye(3) + W[1]) @ (np.eye(3) + W[2]) @ W[3]
    x = rng.normal(size=(4, 2))
    np.testing.assert_allclose(net.forward(x), x @ product, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(
        net.backward(np.ones((4, 1))), np.ones((4, 1)) @ product.T, rtol=1e-13
    )


def test_batch_norm_mlp_train_and_eval(rng: np.random.Generator) -> None:
    net = gw.MLP([3, 4, 4, 1], "relu", norm="batch", seed=0)
    x = rng.normal(size=(8, 3))
    training = net.forward(x)
    assert net.eval() is net
    assert not net.layers[0].layers[1].training
    assert not np.allclose(net.forward(x), training)
    np.testing.assert_allclose(net.forward(x[:1]), net.forward(x)[:1], rtol=1e-14)
    net.train()
    with pytest.raises(ValueError, match="more than one sample"):
        net.forward(x[:1])


@pytest.mark.parametrize(("norm", "residual"), VARIANTS)
def test_every_variant_in_float32(
    norm: str | None, residual: bool, rng: np.random.Generator
) -> None:
    net = gw.MLP([3, 4, 4, 1], norm=norm, residual=residual, dtype=np.float32)
    loss, grads = net.loss_and_grads(rng.normal(size=(6, 3)), rng.normal(size=(6, 1)))
    assert np.isfinite(loss)
    assert all(g.dtype == np.float32 for g in grads)
    assert all(p.dtype == np.float32 for p in net.params())


def test_variant_repr_and_attributes() -> None:
    net = gw.MLP([2, 4, 4, 1], "relu", norm="layer", residual=True)
    assert (net.norm, net.residual) == ("layer", True)
    assert repr(net) == (
        "MLP([2, 4, 4, 1], activation=ReLU(), output_activation=Identity(), norm='layer', "
        "residual=True, dtype=float64)"
    )
    assert repr(gw.MLP([2, 4, 1])) == (
        "MLP([2, 4, 1], activation=Tanh(), output_activation=Identity(), dtype=float64)"
    )
    assert isinstance(net, gw.Sequential)


def test_variant_errors() -> None:
    with pytest.raises(ValueError, match="norm must be None, 'layer' or 'batch', got 'group'"):
        gw.MLP([2, 4, 1], norm="group")
    with pytest.raises(TypeError, match="residual must be True or False"):
        gw.MLP([2, 4, 1], residual="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"equal hidden widths.*\[2, 4, 5, 1\]"):
        gw.MLP([2, 4, 5, 1], residual=True)
    net = gw.MLP([2, 4, 4, 1], norm="layer", residual=True)
    with pytest.raises(ValueError, match="x has 3 features but layer 0 expects n_in=2"):
        net.forward(np.ones((2, 3)))
    shallow = gw.MLP([2, 3, 1], residual=True)  # no layer between the first and the last
    assert all(type(block) is gw.Dense for block in shallow.layers)


def test_loss_and_grads_reuses_its_buffers_without_touching_what_a_caller_holds(
    rng: np.random.Generator,
) -> None:
    net = gw.MLP([3, 5, 4, 2], activation="tanh", seed=0)
    x1, y1 = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    x2, y2 = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    held = net.forward(x1)  # a caller's output, from a plain forward pass
    kept = held.copy()
    dx = net.backward(np.ones_like(held))  # and a caller's dL/dx
    kept_dx = dx.copy()
    for x, y in [(x1, y1), (x2, y2), (x1, y1)]:
        loss, grads = net.loss_and_grads(x, y)
        fresh = gw.MLP([3, 5, 4, 2], activation="tanh", seed=0)  # same weights, no buffers yet
        expected_loss, expected = fresh.loss_and_grads(x, y)
        assert loss == expected_loss
        for g, e in zip(grads, expected, strict=True):
            np.testing.assert_array_equal(g, e)
    # The second and third steps wrote into the first step's arrays, not into the caller's.
    np.testing.assert_array_equal(held, kept)
    np.testing.assert_array_equal(dx, kept_dx)
    dense = net.layers[1]
    (z_buffer,) = dense._kept_z.values()
    net.loss_and_grads(x2, y2)
    assert next(iter(dense._kept_z.values())) is z_buffer  # reused, not reallocated
    assert dense._z_buffers is None  # reuse is off outside loss_and_grads
    assert dense._dx_buffers is None
    assert net.forward(x2) is not next(iter(net.layers[-1]._kept_z.values()))
    # Consecutive dense layers hand dx down through two stores, taken in turn.
    assert [len(store) for store in net._kept_dx] == [1, 1]


def test_loss_and_grads_with_buffers_in_a_linear_network(rng: np.random.Generator) -> None:
    # An identity activation passes da on as dz: the layer then reads the store it must not
    # write its dx into, which the alternating stores rule out.
    net = gw.MLP([4, 4, 4, 4, 4], activation="identity", seed=3)
    x, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    for _ in range(2):
        _, grads = net.loss_and_grads(x, y)
    _, expected = gw.MLP([4, 4, 4, 4, 4], activation="identity", seed=3).loss_and_grads(x, y)
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_array_equal(g, e)
