"""The initialisation experiment: predicted variance factors against measurement, and training."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import initialisation
from gradwatch.plotting import smallest_text_px

#: Overrides that keep every claim of docs/initialisation.md: narrower measured networks (the
#: training, whose claims rest on one seed, keeps its settings).
SMALL: dict[str, Any] = {"width": 128, "n_samples": 128}

NAIVE = "N(0, 0.01²)"


@pytest.fixture(scope="module")
def small() -> initialisation.Settings:
    return initialisation.Settings(**SMALL)


# --- predictions ---


@pytest.mark.parametrize(
    ("activation", "variance", "expected"),
    [
        ("tanh", 1 / 100, 1.0),
        ("relu", 2 / 100, 1.0),
        ("relu", 1 / 100, 0.5),
        ("identity", 0.02, 2.0),
        ("leaky_relu", 2 / 100, 1.0001),
    ],
)
def test_variance_gains_closed_forms(activation: str, variance: float, expected: float) -> None:
    gains = initialisation.variance_gains(activation, 100, 100, variance)
    assert gains == (expected, expected)


def test_variance_gains_uses_each_fan() -> None:
    forward, backward = initialisation.variance_gains("tanh", 100, 400, 1 / 100)
    assert forward == 1.0
    assert backward == 4.0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("sigmoid", 4, 4, 0.1), "activation 'sigmoid'"),
        (("tanh", 0, 4, 0.1), "n_in"),
        (("tanh", 4, True, 0.1), "n_out"),
        (("tanh", 4, 4, 0.0), "weight_variance"),
        (("tanh", 4, 4, float("nan")), "weight_variance"),
    ],
)
def test_variance_gains_rejects_bad_input(args: tuple[Any, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        initialisation.variance_gains(*args)


def test_initialisations_labels_and_scale() -> None:
    inits = initialisation.initialisations(initialisation.Settings(naive_std=0.05))
    assert list(inits) == ["N(0, 0.05²)", "Xavier", "He"]
    W = gw.init.get(inits["N(0, 0.05²)"])((400, 400), rng=0)
    assert abs(float(W.std()) - 0.05) < 0.002


def test_predicted_gains_equal_widths(small: initialisation.Settings) -> None:
    predicted = initialisation.predicted_gains(small)
    assert set(predicted) == {(a, k) for a in ("tanh", "relu") for k in (NAIVE, "Xavier", "He")}
    assert all(forward == backward for forward, backward in predicted.values())
    assert predicted[("tanh", "Xavier")] == predicted[("relu", "He")] == (1.0, 1.0)
    assert predicted[("tanh", NAIVE)][0] == pytest.approx(128 * 1e-4)
    assert initialisation.weight_variances(small)["Xavier"] == 1 / 128


def test_key_names_each_network() -> None:
    labels = initialisation.initialisations(initialisation.Settings())
    assert [initialisation.key("tanh", label) for label in labels] == [
        "tanh_naive",
        "tanh_xavier",
        "tanh_he",
    ]


# --- measurement ---


@pytest.fixture(scope="module")
def stats() -> dict[str, dict[str, initialisation.InitStatistics]]:
    settings = initialisation.Settings(width=200, depth=6, histogram_layers=[1, 6], seed=1)
    return initialisation.init_statistics(settings, initialisation.initialisations(settings))


def test_init_statistics_shapes(stats: dict[str, dict[str, initialisation.InitStatistics]]) -> None:
    s = stats["relu"]["He"]
    assert len(s.activations) == len(s.gradients) == 6
    assert s.activations[0].shape == (256, 200)
    assert s.act_var.shape == s.grad_var.shape == (6,)
    assert s.act_ratios.shape == s.grad_ratios.shape == (5,)
    assert np.all(s.activations[2] >= 0)


def test_init_statistics_backward_matches_the_network() -> None:
    """The hand-written backward pass gives what MLP.backward gives at the input."""
    settings = initialisation.Settings(
        activations=["tanh"], width=8, depth=3, n_samples=5, histogram_layers=[1], seed=2
    )
    s = initialisation.init_statistics(settings, {"Xavier": "xavier_normal"})["tanh"]["Xavier"]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 8))
    dy = rng.standard_normal((5, 8))
    net = gw.MLP([8] * 4, activation="tanh", output_activation="tanh", init="xavier_normal", seed=2)
    np.testing.assert_allclose(net.forward(x), s.activations[-1])
    dx = net.backward(dy)
    np.testing.assert_allclose(dx, s.gradients[0] @ net.layers[0].W.T)


@pytest.mark.parametrize(
    ("activation", "label"),
    [("tanh", NAIVE), ("relu", NAIVE), ("relu", "Xavier"), ("relu", "He")],
)
def test_measured_factor_matches_prediction(
    stats: dict[str, dict[str, initialisation.InitStatistics]], activation: str, label: str
) -> None:
    variance = {NAIVE: 1e-4, "Xavier": 1 / 200, "He": 2 / 200}[label]
    predicted, _ = initialisation.variance_gains(activation, 200, 200, variance)
    s = stats[activation][label]
    forward = gw.diagnostics.fit_per_layer_factor(s.act_var / s.act_var[0])
    backward = gw.diagnostics.fit_per_layer_factor(s.grad_var[::-1] / s.grad_var[-1])
    assert forward == pytest.approx(predicted, rel=0.15)
    assert backward == pytest.approx(predicted, rel=0.15)


def test_mean_field_layers_tanh_power_law_and_relu_exact() -> None:
    tanh = gw.theory.mean_field_layers("tanh", 1.0, 400)
    assert tanh.q[-1] * 2 * 400 == pytest.approx(1.0, rel=0.05)  # q ~ 1/(2l): a power law
    steps = tanh.act_var[1:] / tanh.act_var[:-1]
    assert steps[0] < 0.7 < 0.99 < steps[-1]  # the per-layer factor is not constant
    relu = gw.theory.mean_field_layers("relu", 1.0, 4)
    np.testing.assert_allclose(relu.q, 0.5 ** np.arange(4))
    np.testing.assert_allclose(relu.chi, 0.5)


def test_figure_variances_keeps_every_line_visible(small: initialisation.Settings) -> None:
    stats = initialisation.init_statistics(small, initialisation.initialisations(small))
    fig = initialisation.figure_variances(stats)
    styles = {str(line.get_label()): line.get_linestyle() for line in fig.axes[0].get_lines()}
    assert styles[f"tanh, {NAIVE}"] == "-"
    assert styles[f"relu, {NAIVE}"] == "--"  # never hidden under the tanh line
    assert smallest_text_px(fig) >= 9


def test_init_statistics_is_deterministic() -> None:
    settings = initialisation.Settings(
        activations=["relu"], width=16, depth=3, histogram_layers=[1], seed=4
    )
    a = initialisation.init_statistics(settings, {"He": "he_normal"})
    b = initialisation.init_statistics(settings, {"He": "he_normal"})
    assert np.array_equal(a["relu"]["He"].act_var, b["relu"]["He"].act_var)


def test_init_training_naive_stalls_and_he_learns() -> None:
    settings = initialisation.Settings(
        activations=["relu"], depth=6, histogram_layers=[1], train_width=32, train_samples=128
    )
    runs = initialisation.init_training(settings, initialisation.initialisations(settings))
    assert list(runs) == [f"relu, {NAIVE}", "relu, Xavier", "relu, He"]
    naive, he = runs[f"relu, {NAIVE}"], runs["relu, He"]
    assert naive.steps == he.steps == 120
    assert np.mean(naive.loss[-10:]) > 0.5 * naive.loss[0]
    assert np.mean(he.loss[-10:]) < 0.2 * np.mean(naive.loss[-10:])


# --- settings ---


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"activations": []}, "activations"),
        ({"activations": ["nope"]}, "activations[0]"),
        ({"activations": ["tanh", "sigmoid"]}, "activations[1]"),
        ({"activations": ["relu", "relu"]}, "activations"),
        ({"naive_std": 0.0}, "naive_std"),
        ({"width": 0}, "width"),
        ({"depth": 1}, "depth"),
        ({"depth": 400}, "depth"),
        ({"n_samples": 0}, "n_samples"),
        ({"histogram_layers": []}, "histogram_layers"),
        ({"histogram_layers": [1, 11]}, "histogram_layers[1]"),
        ({"histogram_layers": [0]}, "histogram_layers[0]"),
        ({"seed": -1}, "seed"),
        ({"train_width": 0}, "train_width"),
        ({"train_samples": 0}, "train_samples"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -0.1}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"momentum": -0.5}, "momentum"),
        ({"steps": 0}, "steps"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 257}, "batch_size"),
    ],
)
def test_settings_reject_bad_values(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(gw.experiments.SettingError, match=re.escape(f"setting '{key}'")) as error:
        initialisation.Settings(**overrides)
    assert error.value.key == key


def test_settings_defaults_are_the_conf_file() -> None:
    assert gw.experiments.load("initialisation").settings == initialisation.Settings()


def test_load_rejects_a_bad_file(tmp_path: Path) -> None:
    conf = gw.experiments.conf_dir() / "initialisation.toml"
    text = conf.read_text(encoding="utf-8").replace("steps = 120", "steps = -5")
    path = tmp_path / "initialisation.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"initialisation\.toml: setting 'steps' = -5"):
        gw.experiments.load(path)


# --- run ---


@pytest.fixture(scope="module")
def small_result(small: initialisation.Settings) -> gw.experiments.Result:
    return initialisation.run(small, figures=False)


def test_small_settings_keep_the_page_claims(small_result: gw.experiments.Result) -> None:
    numbers = small_result.numbers
    gain, act, grad = numbers["gain"], numbers["act_factor"], numbers["grad_factor"]
    for key in ("tanh_naive", "relu_naive", "relu_xavier", "relu_he"):
        assert act[key] == pytest.approx(gain[key], rel=0.1)
        assert grad[key] == pytest.approx(gain[key], rel=0.1)
    assert numbers["act_drop"]["tanh_naive"] < 1e-12
    assert numbers["act_drop"]["relu_xavier"] < 0.01
    for key in gain:
        assert act[key] == pytest.approx(numbers["mf_act_factor"][key], rel=0.1)
        assert grad[key] == pytest.approx(numbers["mf_grad_factor"][key], rel=0.1)
    assert numbers["linear_fails"] == "tanh with Xavier and tanh with He"
    assert numbers["weight_spread"]["tanh_naive"] < 1.1
    assert numbers["step_last"]["tanh_xavier"] > numbers["step_first"]["tanh_xavier"] + 0.2
    drift = numbers["act_drop"]["relu_he"] / numbers["mf_act_drop"]["relu_he"]
    assert numbers["act_drop"]["relu_xavier"] / numbers["mf_act_drop"]["relu_xavier"] == (
        pytest.approx(drift, rel=1e-6)
    )
    assert 0.85 < act["tanh_he"] < 1.15
    final = numbers["final"]
    assert not any(numbers["diverged"].values())
    for activation in ("tanh", "relu"):
        assert final[f"{activation}_naive"] > 0.5 * numbers["first_loss"][f"{activation}_naive"]
    for key in ("tanh_xavier", "tanh_he", "relu_he"):
        assert final[key] < final[f"{key.split('_')[0]}_naive"] / 10
    assert final["relu_he"] < final["relu_xavier"] < final["relu_naive"] / 2


def test_run_numbers_are_json_ready(small_result: gw.experiments.Result) -> None:
    flat = gw.experiments.flatten(small_result.numbers, "initialisation")
    assert "initialisation.final.relu_he" in flat
    assert all(
        isinstance(v, (bool, int, float, str)) and not isinstance(v, np.generic)
        for v in flat.values()
    )
    assert small_result.figures == {}


def test_run_draws_the_figures(small: initialisation.Settings) -> None:
    tiny = dataclasses.replace(
        small,
        width=16,
        depth=3,
        n_samples=8,
        histogram_layers=[1, 3],
        train_width=8,
        train_samples=16,
        steps=3,
        batch_size=8,
    )
    calls: list[tuple[str, int, int]] = []
    result = initialisation.run(tiny, lambda *call: calls.append(call))
    assert sorted(result.figures) == [
        "activation_histograms",
        "gradient_histograms",
        "training",
        "variances",
    ]
    assert calls == [("initialisation", 1, 2), ("initialisation", 2, 2)]
    assert len(result.figures["activation_histograms"].axes) == 6
    assert sorted(result.numbers) == sorted(initialisation.run(tiny, figures=False).numbers)
