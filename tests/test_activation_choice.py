"""The activation-choice experiment: its steps, its settings and its run."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import activation_choice
from gradwatch.experiments.activation_choice import Settings

#: Smaller settings under which every claim of the page still holds.
SMALL: dict[str, Any] = {
    "sigma_ws": [0.5, 1.0, 2.0, 4.0, 8.0],
    "width": 192,
    "seeds": [0, 1],
    "bias_width": 300,
    "steps": 150,
    "train_seeds": [0, 1, 2],
    "selu_depth": 24,
}


@pytest.fixture(scope="module")
def small() -> Settings:
    return dataclasses.replace(Settings(), **SMALL)


@pytest.fixture(scope="module")
def numbers(small: Settings) -> dict[str, Any]:
    return activation_choice.run(small, figures=False).numbers


def test_the_conf_file_holds_the_defaults() -> None:
    assert gw.experiments.load("activation_choice").settings == Settings()


def test_gaussian_mean_handles_the_jump_of_selus_derivative() -> None:
    selu = gw.activations.get("selu")
    # E[selu'(z)^2] = lambda^2 (1/2 + alpha^2 e^2 Phi(-2)), in closed form.
    phi = 0.5 * math.erfc(2 / math.sqrt(2))
    exact = selu.SCALE**2 * (0.5 + selu.ALPHA**2 * math.exp(2) * phi)
    value = activation_choice.gaussian_mean(lambda z: selu.derivative(z) ** 2, 1.0)
    assert value == pytest.approx(exact, rel=1e-6)
    relu = gw.activations.get("relu")
    assert activation_choice.gaussian_mean(relu.derivative, 3.0) == pytest.approx(0.5, abs=1e-9)


def test_saturation_thresholds_invert_the_activation() -> None:
    for name in ("tanh", "sigmoid"):
        act = gw.activations.get(name)
        low, high = gw.theory.saturation_thresholds(name)
        assert act.saturation_interval is not None
        np.testing.assert_allclose(act(np.array([low, high])), act.saturation_interval, atol=1e-12)
    with pytest.raises(ValueError, match="does not saturate"):
        gw.theory.saturation_thresholds("relu")


def test_predicted_saturation_is_a_gaussian_tail() -> None:
    # tanh's threshold is atanh(0.97); at q = 1 the tail on both sides.
    z = math.atanh(0.97)
    expected = math.erfc(z / math.sqrt(2))
    assert gw.theory.saturated_fraction("tanh", 1.0) == pytest.approx(expected)


def test_dead_units_are_counted_over_the_whole_data_set() -> None:
    net = gw.MLP([1, 2, 1], activation="relu", init="ones", seed=0)
    net.layers[0].b[:] = [0.0, -1.5]  # second unit fires only for x > 1.5
    x = np.array([[-1.0], [0.5], [1.0]])
    assert activation_choice.dead_fraction(net, x).tolist() == [0.5]
    assert activation_choice.dead_fraction(net, np.vstack([x, [[2.0]]])).tolist() == [0.0]


def test_predicted_dead_and_half_shift() -> None:
    assert activation_choice.predicted_dead(0.0, 4) == pytest.approx(1 / 16)
    shift = activation_choice.half_dead_shift(100)
    assert activation_choice.predicted_dead(shift, 100) == pytest.approx(0.5)


def test_unit_variance_scale_is_he_for_relu_and_lecun_for_selu() -> None:
    assert activation_choice.unit_variance_scale("relu") == pytest.approx(math.sqrt(2))
    assert activation_choice.unit_variance_scale("selu") == pytest.approx(1.0, abs=1e-3)
    for name in ("tanh", "gelu"):
        w = activation_choice.unit_variance_scale(name)
        assert float(gw.theory.q_map(1.0, name, w)) == pytest.approx(1.0, rel=1e-9)


def test_q_map_slope() -> None:
    assert activation_choice.q_map_slope("relu", math.sqrt(2)) == pytest.approx(1.0)
    assert (
        activation_choice.q_map_slope("selu", 1.0)
        < 1
        < activation_choice.q_map_slope("gelu", activation_choice.unit_variance_scale("gelu"))
    )


def test_a_leaky_unit_on_its_flat_side_still_gets_gradient() -> None:
    net = gw.MLP([2, 3, 1], activation="relu", seed=0)
    net.layers[0].b[:] = [-100.0, 0.0, 0.0]
    x = np.random.default_rng(0).normal(size=(20, 2))
    assert activation_choice.flat_side_gradients(net, x, x[:, :1]).tolist() == [0.0]
    net.layers[0].activation = gw.activations.LeakyReLU()
    assert activation_choice.flat_side_gradients(net, x, x[:, :1])[0] > 0


def test_the_claims_of_the_page(small: Settings, numbers: dict[str, Any]) -> None:
    for name in small.saturating:
        s = numbers["saturation"][name]
        assert s["max_error"] < 0.02
        assert s["slope_max_error"] < 0.02
        assert s["first"] < 0.01 < 0.5 < s["last"]
    assert numbers["edge"]["saturated"] > 0.5
    d = numbers["dead"]
    assert d["shift_max_error"] < 0.05
    assert not d["diverged"]
    assert d["small_max_percent"] == 0.0 < 10 < d["large_min_percent"]
    assert d["peak_min"] > 5
    assert d["relu_flat_grad"] == 0.0 < d["leaky_flat_grad"]
    s = numbers["selu"]
    assert s["max_var_dev"] < 0.05
    assert s["max_mean_dev"] < 0.05
    assert s["theory_max_rel_error"] < 0.05
    assert s["relu_ratio"] == pytest.approx(small.selu_starts[-1] / small.selu_starts[0])
    table = numbers["table"]
    assert list(table) == small.activations
    for row in table.values():
        if row["q_slope"] < 1.01:
            assert row["error"] < small.tolerance
    stable = [r["q_last_dev"] for r in table.values() if r["q_slope"] < 0.99]
    assert table["gelu"]["q_last_dev"] > 2 * max(stable)
    flat = gw.experiments.flatten(numbers, "activation_choice")
    assert all(isinstance(v, (int, float, str, list)) for v in flat.values())
    assert not any(":" in key for key in flat)


def test_table_markdown_has_a_row_per_activation(numbers: dict[str, Any]) -> None:
    lines = activation_choice.table_markdown(numbers).splitlines()
    assert len(lines) == 2 + len(numbers["table"])
    assert lines[2].startswith("| sigmoid |")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("activations", ["no_such"]),
        ("activations", []),
        ("saturating", ["relu"]),
        ("sigma_ws", [0.0]),
        ("sigma_b", 0.0),
        ("width", 0),
        ("depth", 1),
        ("saturation_depth", 0),
        ("n_samples", 0),
        ("seeds", []),
        ("seeds", [-1]),
        ("tolerance", 0.0),
        ("bias_shifts", [-1.0]),
        ("bias_width", 0),
        ("bias_n_samples", 0),
        ("n_in", 0),
        ("train_width", 0),
        ("train_depth", 0),
        ("train_samples", 0),
        ("lr_small", 0.0),
        ("lr_large", 0.001),  # below lr_small
        ("steps", -5),
        ("batch_size", 0),
        ("batch_size", 10_000),  # more than train_samples
        ("train_seeds", [-2]),
        ("selu_depth", 1),
        ("selu_starts", [0.0]),
    ],
)
def test_bad_settings_are_rejected(key: str, value: Any) -> None:
    with pytest.raises(gw.experiments.SettingError, match=re.escape(f"setting '{key}")):
        Settings(**{key: value})


def test_a_bad_file_fails_at_load_naming_file_and_key(tmp_path: Path) -> None:
    text = (gw.experiments.conf_dir() / "activation_choice.toml").read_text(encoding="utf-8")
    path = tmp_path / "activation_choice.toml"
    path.write_text(text.replace("steps = 200", "steps = -5"), encoding="utf-8")
    expected = "activation_choice.toml: setting 'steps' = -5: expected a positive number"
    with pytest.raises(gw.experiments.SettingError, match=re.escape(expected)):
        gw.experiments.load(path)


def test_run_gives_the_numbers_and_the_figures() -> None:
    quick = Settings(
        activations=["relu", "tanh"],
        saturating=["tanh"],
        sigma_ws=[1.0, 3.0],
        width=32,
        depth=4,
        seeds=[0],
        bias_shifts=[0.0, 3.0],
        bias_width=50,
        train_width=16,
        train_samples=64,
        steps=5,
        batch_size=32,
        train_seeds=[0],
        selu_depth=4,
    )
    calls: list[tuple[str, int, int]] = []
    result = activation_choice.run(quick, lambda *args: calls.append(args), figures=False)
    assert calls[-1] == ("activation choice", 5, 5)
    assert result.figures == {}
    assert sorted(result.numbers["table"]) == ["relu", "tanh"]
    drawn = activation_choice.run(quick)
    assert list(drawn.figures) == ["saturation", "dead", "selu", "decay"]
    assert drawn.figures["decay"].axes[0].get_yscale() == "log"
