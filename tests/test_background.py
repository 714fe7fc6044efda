"""Tests of the background experiment: gradient descent on a quadratic bowl (docs/background.md)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import background
from gradwatch.experiments.background import Settings

#: The default settings already run in milliseconds.
SMALL: dict[str, Any] = {}


@pytest.fixture(scope="module")
def steps() -> tuple[Settings, gw.landscape.Quadratic, list[gw.landscape.DescentRun]]:
    settings = Settings(**SMALL)
    surface = background.bowl(settings)
    return settings, surface, background.descend(settings, surface)


def test_conf_file_loads_into_settings() -> None:
    experiment = gw.experiments.load("background")
    assert isinstance(experiment.settings, Settings)
    assert experiment.settings == Settings()  # the defaults are the conf values


def test_bowl_has_the_curvatures_and_the_stability_limit() -> None:
    surface = background.bowl(Settings(curvatures=[2.0, 8.0], angle=0.3))
    np.testing.assert_allclose(surface.eigenvalues, [2.0, 8.0])
    assert surface.max_stable_lr == pytest.approx(2.0 / 8.0)
    assert surface.condition_number == pytest.approx(4.0)
    np.testing.assert_array_equal(surface.minimum, [0.0, 0.0])


def test_descent_follows_the_closed_form(steps: Any) -> None:
    settings, surface, runs = steps
    assert [run.lr for run in runs] == settings.learning_rates
    start = np.asarray(settings.start) - surface.minimum
    for run in runs:
        step = np.eye(2) - run.lr * surface.hessian
        for t, point in enumerate(run.path):
            expected = surface.minimum + np.linalg.matrix_power(step, t) @ start
            np.testing.assert_allclose(point, expected, rtol=1e-9, atol=1e-9)


def test_the_three_rates_crawl_converge_and_diverge(steps: Any) -> None:
    settings, surface, runs = steps
    numbers = background.summarise(settings, surface, runs)
    small, good, large = numbers["small"], numbers["good"], numbers["large"]
    assert small["lr"] < good["lr"] < numbers["max_stable_lr"] < large["lr"]
    assert small["steps_to_tol"] is None
    assert not small["diverged"]
    assert small["final_loss"] < numbers["loss_start"]
    assert isinstance(good["steps_to_tol"], int)
    assert good["final_loss"] <= settings.tol
    assert large["diverged"]
    assert large["final_loss"] > numbers["loss_start"]
    # The factors are 1 - lr * lambda and match what the paths do along the eigenvectors.
    eigenvectors = np.linalg.eigh(surface.hessian)[1]
    flat, steep = eigenvectors[:, 0], eigenvectors[:, -1]
    small_run, _, large_run = runs
    shrink = (small_run.path[-1] @ flat) / (small_run.path[-2] @ flat)
    growth = (large_run.path[-1] @ steep) / (large_run.path[-2] @ steep)
    assert shrink == pytest.approx(small["factor_flat"], rel=1e-9)
    assert growth == pytest.approx(large["factor_steep"], rel=1e-9)
    assert 0.0 < small["factor_flat"] < 1.0
    assert large["factor_steep"] < -1.0
    assert numbers["lam_min"] == pytest.approx(1.0)
    assert numbers["lam_max"] == pytest.approx(10.0)
    assert numbers["condition_number"] == pytest.approx(10.0)


def test_summarise_is_json_ready(steps: Any) -> None:
    numbers = background.summarise(*steps)
    assert json.loads(json.dumps(numbers)) == numbers
    flat = gw.experiments.flatten(numbers, "background")
    assert all(":" not in key for key in flat)
    assert flat["background.good.lr"] == 0.15


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("steps", 0),
        ("steps", -5),
        ("tol", 0.0),
        ("tol", -1e-3),
        ("learning_rates", []),
        ("learning_rates", [0.01, 0.15]),
        ("learning_rates", [0.15, 0.01, 0.21]),
        ("learning_rates", [0.0, 0.15, 0.21]),
        ("curvatures", [1.0]),
        ("curvatures", [0.0, 10.0]),
        ("curvatures", [1.0, 10.0, 100.0]),
        ("start", [1.0, 2.0, 3.0]),
        ("start", [float("nan"), 1.0]),
        ("angle", float("inf")),
    ],
)
def test_settings_reject_bad_values(key: str, value: object) -> None:
    with pytest.raises(gw.experiments.SettingError, match=rf"setting '{key}(\[\d+\])?'") as info:
        Settings(**{key: value})
    assert info.value.key.startswith(key)


def test_loading_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "background.toml"
    path.write_text('[experiment]\ntitle = "t"\n\n[settings]\nsteps = -5\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"background\.toml: setting 'steps' = -5") as info:
        gw.experiments.load(path)
    assert str(path) in str(info.value)
    path.write_text("[settings]\nlearning_rates = [0.2, 0.1, 0.3]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="learning_rates"):
        gw.experiments.load(path)
    path.write_text("[settings]\nsteps = 7\n", encoding="utf-8")
    assert gw.experiments.load(path).settings.steps == 7


def test_run_without_figures_returns_the_summary(steps: Any) -> None:
    calls: list[tuple[str, int, int]] = []

    def progress(label: str, done: int, total: int) -> None:
        calls.append((label, done, total))

    result = background.run(Settings(**SMALL), progress, figures=False)
    assert result.figures == {}
    assert result.numbers == background.summarise(*steps)
    assert calls == [("gradient descent", 1, 1)]


def test_run_with_figures_draws_the_descent_paths() -> None:
    pytest.importorskip("matplotlib")
    settings = dataclasses.replace(Settings(**SMALL), steps=10)
    result = background.run(settings)
    assert sorted(result.figures) == ["descent_paths"]
    assert len(result.figures["descent_paths"].axes) == 3


# --- the figure ----------------------------------------------------------------------------


def test_figure_descent_paths_draws_one_panel_per_run(steps: Any) -> None:
    pytest.importorskip("matplotlib")
    _, surface, runs = steps
    fig = background.figure_descent_paths(surface, runs)
    assert len(fig.axes) == 3
    for ax, run in zip(fig.axes, runs, strict=True):
        assert len(ax.lines) == 3  # the path, its start, the minimum
        np.testing.assert_allclose(ax.lines[0].get_xydata(), run.path)
        assert ax.get_title() == run.describe()
        assert ax.collections  # the contours
    # The default extent frames the converging runs and the minimum, not the diverging one.
    x_low, x_high = fig.axes[0].get_xlim()
    assert x_low < -4.0
    assert x_high > 0.0
    assert x_high - x_low < 10.0
    fig.canvas.draw()


def test_figure_descent_paths_with_an_extent_and_bad_input() -> None:
    pytest.importorskip("matplotlib")
    settings = Settings(curvatures=[1.0, 2.0], angle=0.0, start=[1.0, 1.0], steps=5)
    surface = background.bowl(settings)
    runs = background.descend(settings, surface)[:1]
    fig = background.figure_descent_paths(surface, runs, extent=(-2.0, 2.0, -1.0, 1.0))
    (ax,) = fig.axes
    assert ax.get_xlim() == (-2.0, 2.0)
    assert ax.get_ylim() == (-1.0, 1.0)
    with pytest.raises(ValueError, match="at least one run"):
        background.figure_descent_paths(surface, [])
    cube = gw.landscape.quadratic([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="two-dimensional"):
        background.figure_descent_paths(cube, runs)
