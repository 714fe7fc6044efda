"""The backpropagation experiment: column equations, gradient checks, settings and run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import backpropagation
from gradwatch.experiments.backpropagation import Settings

#: The page runs in a fraction of a second with the settings of conf/backpropagation.toml.
SMALL: dict[str, Any] = {}


@pytest.fixture(scope="module")
def settings() -> Settings:
    loaded = gw.experiments.load("backpropagation").settings
    assert isinstance(loaded, Settings)
    return dataclasses.replace(loaded, **SMALL)


@pytest.mark.parametrize("sizes", [[2, 3, 1], [3, 5, 4, 2]])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("loss", ["mse", "bce_with_logits"])
def test_column_backprop_equals_batch_backprop(
    sizes: list[int], activation: str, loss: str, rng: np.random.Generator
) -> None:
    net = gw.MLP(sizes, activation=activation, seed=3)
    x = rng.normal(size=(7, sizes[0]))
    y = rng.uniform(size=(7, sizes[-1]))
    _, batch = net.loss_and_grads(x, y, loss=loss)
    batch = [g.copy() for g in batch]
    columns = backpropagation.column_backprop(net, x, y, loss=loss)
    assert [c.shape for c in columns] == [p.shape for p in net.params()]
    for b, c in zip(batch, columns, strict=True):
        np.testing.assert_allclose(c, b, rtol=1e-10, atol=1e-14)


def test_problem_is_deterministic_and_shaped(settings: Settings) -> None:
    net1, x1, y1 = backpropagation.problem(settings)
    net2, x2, y2 = backpropagation.problem(settings)
    assert np.array_equal(x1, x2)
    assert np.array_equal(y1, y2)
    for p1, p2 in zip(net1.params(), net2.params(), strict=True):
        assert np.array_equal(p1, p2)
    assert x1.shape == (settings.n_samples, settings.sizes[0])
    assert y1.shape == (settings.n_samples, settings.sizes[-1])
    relu, _, _ = backpropagation.problem(settings, activation="relu")
    assert relu.layers[0].activation.name == "relu"
    assert relu.layers[-1].activation.name == "identity"  # the output stays linear


def test_batch_and_column_grads_agree_and_are_copies(settings: Settings) -> None:
    net, x, y = backpropagation.problem(settings)
    batch, columns = backpropagation.batch_and_column_grads(net, x, y)
    assert backpropagation.largest_difference(batch, columns) < 1e-12
    assert all(b is not g for b, g in zip(batch, net.grads(), strict=True))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "gelu", "identity"])
def test_textbook_backward_equals_dense_backward(activation: str) -> None:
    rng = np.random.default_rng(0)
    layer = gw.Dense(3, 4, activation=activation, rng=rng)
    x = rng.normal(size=(5, 3))
    da = rng.normal(size=(5, 4))
    z = x @ layer.W + layer.b
    layer.forward(x)
    dx = layer.backward(da)
    dW, db, textbook_dx = backpropagation.textbook_backward(layer.W, x, z, da, layer.activation)
    np.testing.assert_allclose(dW, layer.dW, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(db, layer.db, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(textbook_dx, dx, rtol=1e-12, atol=1e-14)


def test_the_backward_pass_does_twice_the_products_of_the_forward_pass() -> None:
    assert backpropagation.multiply_adds([2, 3, 1], 2) == (18, 24)
    forward, backward = backpropagation.multiply_adds([100] * 51, 10)
    assert backward / forward == pytest.approx(2 - 1 / 50)


def test_time_passes_returns_the_fastest_of_each_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    # A scripted clock, not a real one: a test that compared measured times would fail on a
    # busy machine. Each repeat reads the clock three times for the passes (start, between
    # them, end), then twice per hidden layer around its activation.
    forward, backward = [3.0, 1.0, 2.0], [5.0, 6.0, 4.0]
    activations = [(0.5, 0.25), (0.75, 0.5), (0.25, 0.5)]  # per repeat, per hidden layer
    readings = []
    now = 0.0
    for f, b, layers in zip(forward, backward, activations, strict=True):
        readings += [now, now + f, now + f + b]
        for spent in layers:
            readings += [now + 50.0, now + 50.0 + spent]
        now += 100.0
    clock = iter(readings)
    passes = []
    net_forward, net_backward = gw.MLP.forward, gw.MLP.backward_params
    tanh_inplace = gw.activations.Tanh.call_inplace

    def forward_pass(self: gw.MLP, x: np.ndarray) -> np.ndarray:
        passes.append("forward")
        return net_forward(self, x)

    def backward_pass(self: gw.MLP, dy: np.ndarray) -> Any:
        passes.append("backward")
        return net_backward(self, dy)

    def activation(self: gw.activations.Tanh, z: np.ndarray) -> np.ndarray:
        if passes[-1] != "forward":  # not from within the forward pass
            passes.append(f"tanh {z.shape}")
        return tanh_inplace(self, z)

    monkeypatch.setattr(backpropagation.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(gw.MLP, "forward", forward_pass)
    monkeypatch.setattr(gw.MLP, "backward_params", backward_pass)
    monkeypatch.setattr(gw.activations.Tanh, "call_inplace", activation)
    settings = Settings(timing_sizes=[8, 6, 5, 1], timing_samples=4, timing_repeats=3)
    times = backpropagation.time_passes(settings)
    assert times == (1.0, 4.0, 0.75)  # the fastest of each, the activations added up per repeat
    assert (times.forward, times.backward, times.activation) == times
    # Each pass timed, in that order, then the two hidden layers' tanh on their own shapes.
    assert passes == ["forward", "backward", "tanh (4, 6)", "tanh (4, 5)"] * 3
    assert next(clock, None) is None  # and nothing else timed


def test_largest_difference() -> None:
    first = [np.zeros((2, 2)), np.array([1.0, -3.0])]
    second = [np.full((2, 2), 0.25), np.array([1.0, 1.0])]
    assert backpropagation.largest_difference(first, second) == 4.0


def test_gradcheck_by_activation_passes_and_reports_progress(settings: Settings) -> None:
    calls: list[tuple[str, int, int]] = []
    reports = backpropagation.gradcheck_by_activation(
        settings, lambda label, done, total: calls.append((label, done, total))
    )
    assert list(reports) == settings.activations
    assert all(r.passed for r in reports.values())
    total = len(settings.activations)
    assert calls == [("gradcheck", done, total) for done in range(1, total + 1)]


def test_summarise_gives_the_page_its_claims(settings: Settings) -> None:
    net, x, y = backpropagation.problem(settings)
    batch, columns = backpropagation.batch_and_column_grads(net, x, y)
    reports = backpropagation.gradcheck_by_activation(settings)
    numbers = backpropagation.summarise(settings, batch, columns, reports)
    assert numbers["column_difference"] < 1e-12
    assert numbers["all_passed"] is True
    assert numbers["worst"] <= settings.rtol
    assert numbers["n_params"] == net.n_params == 13
    assert numbers["n_activations"] == len(settings.activations)
    assert numbers["example_rel_error"] == reports[settings.activation].max_rel_error
    assert numbers["grad_scale"] == max(float(np.max(np.abs(g))) for g in batch) > 0
    assert (numbers["eps"], numbers["rtol"]) == (settings.eps, settings.rtol)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"sizes": [2, 0, 1]}, "sizes[1]"),
        ({"sizes": [2]}, "sizes"),
        ({"sizes": []}, "sizes"),
        ({"activation": "swish"}, "activation"),
        ({"activations": ["tanh", "nope"]}, "activations[1]"),
        ({"activations": []}, "activations"),
        ({"activation": "relu", "activations": ["tanh"]}, "activation"),
        ({"n_samples": 0}, "n_samples"),
        ({"seed": -1}, "seed"),
        ({"eps": 0.0}, "eps"),
        ({"rtol": -1e-6}, "rtol"),
        ({"timing_sizes": [512]}, "timing_sizes"),
        ({"timing_sizes": [512, 0]}, "timing_sizes[1]"),
        ({"timing_samples": 0}, "timing_samples"),
        ({"timing_repeats": 0}, "timing_repeats"),
    ],
)
def test_settings_reject_bad_values(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(gw.experiments.SettingError) as error:
        dataclasses.replace(Settings(), **changes)
    assert error.value.key == key


def test_load_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "backpropagation.toml"
    path.write_text('[settings]\nn_samples = -2\nactivation = "tanh"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"backpropagation\.toml: setting 'n_samples' = -2"):
        gw.experiments.load(path)


def test_conf_file_matches_the_defaults() -> None:
    assert gw.experiments.load("backpropagation").settings == Settings()


def test_run_numbers_and_figures(settings: Settings) -> None:
    numbers = backpropagation.run(settings, figures=False)
    assert numbers.figures == {}
    assert numbers.numbers["column_difference"] < 1e-12
    assert numbers.numbers["passed"] == dict.fromkeys(settings.activations, True)
    pytest.importorskip("matplotlib")
    result = backpropagation.run(settings)
    assert set(result.figures) == {"gradcheck_scatter"}
    assert result.numbers == numbers.numbers
    figure = result.figures["gradcheck_scatter"]
    assert len(figure.axes) == 2
    # The left panel: one dot per parameter entry (13) and the diagonal (2 points).
    assert sum(len(line.get_xdata()) for line in figure.axes[0].get_lines()) == 13 + 2
