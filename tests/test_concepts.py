"""Tests of the concepts experiment: activation slopes and gradient norms (docs/concepts.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import _common, concepts
from gradwatch.experiments.concepts import Settings
from gradwatch.plotting import smallest_text_px

#: The default settings already run in well under a second.
SMALL: dict[str, Any] = {}

#: Settings small enough for the tests that do not check the page's claims.
TINY = Settings(
    n_points=41, depth=4, width=16, seeds=[0], n_samples=8, sweep_depths=[1, 2, 4], weight_depth=3
)


@pytest.fixture(scope="module")
def default_steps() -> tuple[Settings, concepts.Measurements, dict[str, Any]]:
    settings = Settings(**SMALL)
    measured = concepts.measure(settings)
    return settings, measured, concepts.summarise(settings, measured)


def test_conf_file_loads_into_settings() -> None:
    experiment = gw.experiments.load("concepts")
    assert isinstance(experiment.settings, Settings)
    assert experiment.settings == Settings()  # the defaults are the conf values


def test_grid_and_slopes() -> None:
    z = concepts.grid(Settings(z_min=-2.0, z_max=2.0, n_points=9))
    np.testing.assert_allclose(z, np.linspace(-2.0, 2.0, 9))
    found = concepts.slopes(z)
    assert list(found) == list(gw.activations.names())
    for name, slope in found.items():
        np.testing.assert_array_equal(slope, gw.activations.get(name).derivative(z))
    assert list(concepts.slopes(z, ["relu"])) == ["relu"]


def test_slope_bounds_on_the_page_grid(default_steps: Any) -> None:
    _, measured, numbers = default_steps
    z, found = measured.z, measured.slopes
    assert np.all(found["sigmoid"] <= 0.25 + 1e-15)
    assert numbers["sigmoid_slope_max"] == pytest.approx(0.25, rel=1e-9)
    assert numbers["sigmoid_peak_z"] == pytest.approx(0.0, abs=z[1] - z[0])
    assert numbers["tanh_slope_max"] == pytest.approx(1.0, rel=1e-9)
    assert numbers["sigmoid_ten_layers"] == pytest.approx(0.25**10, rel=1e-8)
    assert set(np.unique(found["relu"])) <= {0.0, 1.0}


def test_gradient_profiles_vanish_and_explode(default_steps: Any) -> None:
    settings, measured, numbers = default_steps
    profiles = measured.profiles
    assert list(profiles) == ["s = 0.5", "s = 1", "s = 2"]
    for profile in profiles.values():
        assert profile.shape == (settings.depth + 1,)
        assert profile[0] == pytest.approx(1.0)
    small, middle, large = numbers["small"], numbers["middle"], numbers["large"]
    assert small["ratio"] < 1e-3 < 1.0 < 10.0 < large["ratio"]
    assert small["ratio"] < middle["ratio"] < 1.0 < large["ratio"]
    assert abs(small["factor"] / small["scale"] - 1.0) < 0.05
    assert large["factor"] < 0.75 * large["scale"]
    assert small["profile"] == profiles["s = 0.5"].tolist()


def test_mean_field_predicts_the_profiles(default_steps: Any) -> None:
    _, _, numbers = default_steps
    for name in ("small", "middle", "large"):
        ratio, predicted = numbers[name]["ratio"], numbers[name]["predicted_ratio"]
        assert abs(np.log(ratio / predicted)) < np.log(1.5)
    # relu: mean field is exact, a constant factor s / sqrt(2) per layer
    relu = concepts.mean_field_profiles(Settings(depth=3, activation="relu", scales=[1, 2, 3]))
    np.testing.assert_allclose(relu["s = 2"], np.sqrt(2.0) ** np.arange(4))


def test_the_critical_scale_follows_a_power_law(default_steps: Any) -> None:
    _, _, numbers = default_steps
    middle, small, large = numbers["middle"], numbers["small"], numbers["large"]
    assert middle["laws"]["power_residual"] < middle["laws"]["geometric_residual"] / 3
    assert small["laws"]["geometric_residual"] < small["laws"]["power_residual"] / 3
    assert large["laws"]["geometric_residual"] < large["laws"]["power_residual"] / 3
    assert abs(middle["laws"]["alpha"] - 0.5) < 0.1
    assert small["laws"]["factor"] == pytest.approx(0.5, rel=0.05)


def test_fit_depth_laws_recovers_each_law() -> None:
    depths = [2, 4, 8, 16, 32]
    geometric = concepts.fit_depth_laws(depths, 0.7 ** np.asarray(depths, dtype=float))
    assert geometric["factor"] == pytest.approx(0.7)
    assert geometric["geometric_residual"] == pytest.approx(0.0, abs=1e-12)
    power = concepts.fit_depth_laws(depths, 3.0 * np.asarray(depths, dtype=float) ** -0.5)
    assert power["alpha"] == pytest.approx(0.5)
    assert power["power_residual"] < 1e-12 < power["geometric_residual"]


def test_weight_gradients_equal_only_for_centred_activations(default_steps: Any) -> None:
    _, measured, numbers = default_steps
    assert list(measured.weights) == ["centred", "sigmoid", "saturated"]
    centred = numbers["weights"]["centred"]
    assert centred["delta"]["high"] < 0.01
    assert 0.8 < centred["weight"]["low"] <= centred["weight"]["high"] < 1.25
    for name in ("sigmoid", "saturated"):
        case = numbers["weights"][name]
        assert case["weight"]["high"] < 0.01
        assert case["update"]["high"] < 0.01
    table = concepts.weight_table(measured.weights["centred"])
    assert table.count("\n") == 2 + 9  # header, rule and one row per layer


def test_number_text_reads_as_a_number() -> None:
    assert _common.number_text(0.5) == "0.5"
    assert _common.number_text(2.5e-7) == f"2.5 {_common.TIMES} 10⁻⁷"
    assert _common.spread(np.array([0.5, 0.5]))["text"] == "0.5"  # equal ends: one number
    assert _common.spread(np.array([0.5, 0.7]))["text"] == "0.5 to 0.7"


def test_gradient_profiles_report_progress() -> None:
    calls: list[tuple[str, int, int]] = []

    def progress(label: str, done: int, total: int) -> None:
        calls.append((label, done, total))

    concepts.gradient_profiles(TINY, progress)
    assert calls == [("weight scales", 1, 3), ("weight scales", 2, 3), ("weight scales", 3, 3)]
    calls.clear()
    concepts.depth_sweep(TINY, progress)
    assert calls == [("depth sweep", 1, 3), ("depth sweep", 2, 3), ("depth sweep", 3, 3)]


def test_summarise_is_json_ready() -> None:
    numbers = concepts.summarise(TINY, concepts.measure(TINY))
    assert json.loads(json.dumps(numbers)) == numbers
    flat = gw.experiments.flatten(numbers, "concepts")
    assert all(":" not in key for key in flat)
    assert flat["concepts.depth"] == 4
    assert len(flat["concepts.large.profile"]) == 5


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("n_points", 1),
        ("n_points", 0),
        ("z_max", -6.0),
        ("z_min", float("nan")),
        ("depth", 0),
        ("width", -3),
        ("scales", []),
        ("scales", [0.5, 1.0]),
        ("scales", [2.0, 1.0, 0.5]),
        ("scales", [0.0, 1.0, 2.0]),
        ("activation", "tahn"),
        ("seeds", []),
        ("seeds", [0, -1]),
        ("n_samples", 0),
        ("sweep_depths", [2, 4]),
        ("sweep_depths", [4, 2, 8]),
        ("sweep_depths", [0, 2, 4]),
        ("weight_depth", 1),
        ("weight_scale", 0.0),
        ("bias_scale", -1.0),
        ("lr", 0.0),
    ],
)
def test_settings_reject_bad_values(key: str, value: object) -> None:
    with pytest.raises(gw.experiments.SettingError, match=rf"setting '{key}(\[\d+\])?'") as info:
        Settings(**{key: value})
    assert info.value.key.startswith(key)


def test_loading_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "concepts.toml"
    path.write_text('[experiment]\ntitle = "t"\n\n[settings]\ndepth = -5\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"concepts\.toml: setting 'depth' = -5") as info:
        gw.experiments.load(path)
    assert str(path) in str(info.value)
    path.write_text('[settings]\nactivation = "nope"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="activation"):
        gw.experiments.load(path)
    path.write_text("[settings]\nwidth = 8\n", encoding="utf-8")
    assert gw.experiments.load(path).settings.width == 8


def test_run_without_figures_returns_the_summary() -> None:
    result = concepts.run(TINY, figures=False)
    assert result.figures == {}
    assert result.numbers == concepts.summarise(TINY, concepts.measure(TINY))


def test_run_with_figures_draws_every_figure_readably() -> None:
    pytest.importorskip("matplotlib")
    result = concepts.run(TINY)
    assert sorted(result.figures) == [
        "activations",
        "depth_laws",
        "weight_gradients",
        "weight_scale_norms",
    ]
    for name, fig in result.figures.items():
        assert smallest_text_px(fig) >= 9, name


# --- the figures ---------------------------------------------------------------------------


def test_figure_activations_has_a_panel_per_activation() -> None:
    pytest.importorskip("matplotlib")
    names = gw.activations.names()
    settings = Settings(z_min=-3.0, z_max=3.0, n_points=61)
    fig = concepts.figure_activations(settings)
    assert [ax.get_title() for ax in fig.axes] == list(names)
    z = np.linspace(-3.0, 3.0, 61)
    for ax, name in zip(fig.axes, names, strict=True):
        assert len(ax.lines) == 3  # zero line, g, g'
        act = gw.activations.get(name)
        np.testing.assert_allclose(ax.lines[1].get_ydata(), act(z))
        np.testing.assert_allclose(ax.lines[2].get_ydata(), act.derivative(z))
    fig.canvas.draw()


def test_figure_activations_subset_and_errors() -> None:
    pytest.importorskip("matplotlib")
    fig = concepts.figure_activations(TINY, ["tanh", "relu", "sigmoid"], ncols=2)
    assert len(fig.axes) == 3  # the unused fourth panel is removed
    with pytest.raises(ValueError, match="names"):
        concepts.figure_activations(TINY, [])
    with pytest.raises(ValueError, match="ncols"):
        concepts.figure_activations(TINY, ncols=0)


def test_figure_norms_draws_one_series_per_scale() -> None:
    pytest.importorskip("matplotlib")
    profiles = concepts.gradient_profiles(TINY)
    fig = concepts.figure_norms(TINY, profiles)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "tanh, 4 layers of width 16"
    labels = ax.get_legend_handles_labels()[1]
    assert all(label in labels for label in profiles)
    fig.canvas.draw()
