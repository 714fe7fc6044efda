"""train: bad data and bad arguments are errors before anything changes; divergence is not."""

from __future__ import annotations

import numpy as np
import pytest

import gradwatch as gw


def data(n_samples: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_samples, 2))
    return x, x[:, :1] - x[:, 1:]


def snapshot(net: gw.MLP) -> list[np.ndarray]:
    return [p.copy() for p in net.params()]


def assert_unchanged(net: gw.MLP, before: list[np.ndarray]) -> None:
    for p, q in zip(net.params(), before, strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x", "y"])
def test_nonfinite_data_is_an_error_not_a_divergence(bad: float, where: str) -> None:
    x, y = data()
    (x if where == "x" else y)[3, 0] = bad
    net = gw.MLP([2, 4, 1], seed=0)
    before = snapshot(net)
    opt = gw.optim.Adam(lr=0.01)
    with pytest.raises(ValueError, match=rf"^{where} holds 1 nan or inf value; train needs finite"):
        gw.train(net, x, y, optimizer=opt, steps=3)
    assert_unchanged(net, before)
    assert opt.steps == 0


def test_integer_class_labels_are_finite_data() -> None:
    rng = np.random.default_rng(1)
    x, labels = rng.normal(size=(12, 2)), rng.integers(0, 3, size=12)
    history = gw.train(gw.MLP([2, 5, 3]), x, labels, loss="softmax_cross_entropy", steps=3)
    assert history.steps == 3
    assert not history.diverged


def test_divergence_is_still_what_training_produces() -> None:
    x, y = data()
    history = gw.train(gw.MLP([2, 8, 1], seed=0), x, 1e3 * y, optimizer=gw.optim.SGD(lr=50.0))
    assert history.diverged
    assert history.steps < 100


def test_any_integer_batch_size() -> None:
    x, y = data()
    runs = [
        gw.train(gw.MLP([2, 4, 1], seed=0), x, y, steps=6, batch_size=batch_size, seed=1)
        for batch_size in (8, np.int64(8), np.int32(8), np.uint8(8))
    ]
    for history in runs[1:]:
        np.testing.assert_array_equal(history.loss, runs[0].loss)
    steps = gw.train(gw.MLP([2, 4, 1], seed=0), x, y, steps=np.int64(6), batch_size=8, seed=1)
    np.testing.assert_array_equal(steps.loss, runs[0].loss)
    for bad in (0, 17, 8.0, True, "8"):
        with pytest.raises(ValueError, match=r"^batch_size must be"):
            gw.train(gw.MLP([2, 4, 1]), x, y, steps=2, batch_size=bad)  # type: ignore[arg-type]


def test_empty_x_says_x_is_empty() -> None:
    net = gw.MLP([2, 4, 1])
    before = snapshot(net)
    with pytest.raises(ValueError, match=r"^x is empty \(shape \(0, 2\)\)"):
        gw.train(net, np.zeros((0, 2)), np.zeros((0, 1)))
    with pytest.raises(ValueError, match=r"^x is empty \(shape \(0, 2\)\)"):
        gw.train(net, np.zeros((0, 2)), np.zeros((0, 1)), batch_size=4)
    with pytest.raises(ValueError, match=r"^x is empty \(shape \(0,\)\)"):
        gw.train(net, [], [])  # type: ignore[arg-type]
    assert_unchanged(net, before)


def test_ragged_data_names_the_argument() -> None:
    net = gw.MLP([2, 4, 1])
    with pytest.raises(ValueError, match=r"^x is ragged: its rows have unequal lengths"):
        gw.train(net, [[1.0, 2.0], [3.0]], np.zeros((2, 1)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^y is ragged"):
        gw.train(net, np.zeros((2, 2)), [[1.0], [2.0, 3.0]])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "equivalent"),
    [
        ("sgd", lambda: gw.optim.SGD(lr=0.1)),
        ("adam", gw.optim.Adam),
        ("Adam", gw.optim.Adam),
    ],
)
def test_optimizer_by_name(name: str, equivalent: object) -> None:
    x, y = data()
    by_name = gw.train(gw.MLP([2, 4, 1], seed=0), x, y, optimizer=name, steps=5)
    explicit = gw.train(gw.MLP([2, 4, 1], seed=0), x, y, optimizer=equivalent(), steps=5)  # type: ignore[operator]
    np.testing.assert_array_equal(by_name.loss, explicit.loss)


def test_bad_optimizer_fails_before_anything_changes() -> None:
    x, y = data()
    net = gw.MLP([2, 4, 1])
    before = snapshot(net)
    with pytest.raises(ValueError, match=r"^unknown optimizer 'momentum'"):
        gw.train(net, x, y, optimizer="momentum")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^optimizer must be an Optimizer"):
        gw.train(net, x, y, optimizer=0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^optimizer must be an Optimizer"):
        gw.train(net, x, y, optimizer=gw.optim.Adam)  # type: ignore[arg-type]
    assert_unchanged(net, before)


def test_a_negative_seed_names_seed() -> None:
    x, y = data()
    with pytest.raises(ValueError, match=r"^seed must be a non-negative int seed, got -1"):
        gw.train(gw.MLP([2, 4, 1]), x, y, seed=-1)
