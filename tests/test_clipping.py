"""The clipping experiment (docs/clipping.md): settings, steps, numbers and figures."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradwatch as gw
from gradwatch.experiments import SettingError, clipping

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

CONF = Path(__file__).resolve().parents[1] / "conf" / "clipping.toml"

#: Overrides for the page-against-command-line test. The whole experiment runs in about a
#: second, and every claim of the page rests on the settings of conf/clipping.toml (which run
#: diverges, which threshold is best, how the three methods compare), so none is changed.
SMALL: dict[str, Any] = {}

#: A small problem for the tests of the steps.
FAST = clipping.Settings(
    sizes=[4, 8, 8, 1],
    n_samples=16,
    lr=0.05,
    steps=15,
    thresholds=[0.01, 1.0],
    max_norm=1.0,
    clip_value=0.1,
    adaptive_clipping=0.05,
)

FIGURES = {"clipping_geometry", "clipping_divergence", "clipping_sweep", "clipping_methods"}


@pytest.fixture(scope="module")
def settings() -> clipping.Settings:
    loaded = gw.experiments.load(CONF).settings
    assert isinstance(loaded, clipping.Settings)
    return loaded


@pytest.fixture(scope="module")
def divergence(settings: clipping.Settings) -> tuple[gw.History, gw.History]:
    unclipped = clipping.train_clipped(settings, "none")
    clipped = clipping.train_clipped(settings, "global_norm", settings.max_norm)
    return unclipped, clipped


# --- settings ---------------------------------------------------------------------------------


def test_conf_loads_as_settings(settings: clipping.Settings) -> None:
    assert settings.thresholds == sorted(settings.thresholds)
    # the rescued run's threshold is one of the sweep's, between its tiny and large ends
    assert settings.max_norm in settings.thresholds
    assert min(settings.thresholds) < settings.max_norm < max(settings.thresholds)


def test_defaults_equal_the_conf(settings: clipping.Settings) -> None:
    assert clipping.Settings() == settings


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("sizes", [2, 8, 1], "sizes"),
        ("sizes", [4, 8, 2], "sizes"),
        ("sizes", [4], "sizes"),
        ("sizes", [4, 0, 1], "sizes[1]"),
        ("sizes", [], "sizes"),
        ("activation", "foo", "activation"),
        ("init_std", 0.0, "init_std"),
        ("n_samples", 0, "n_samples"),
        ("seed", -1, "seed"),
        ("lr", -0.1, "lr"),
        ("lr", 0.0, "lr"),
        ("steps", 0, "steps"),
        ("steps", -5, "steps"),
        ("max_norm", 0.0, "max_norm"),
        ("max_norm", math.inf, "max_norm"),
        ("thresholds", [], "thresholds"),
        ("thresholds", [0.1, -1.0], "thresholds[1]"),
        ("clip_value", 0.0, "clip_value"),
        ("adaptive_clipping", -0.05, "adaptive_clipping"),
        ("geometry_gradient", [0.0, 0.0], "geometry_gradient"),
        ("geometry_gradient", [1.0, 2.0, 3.0], "geometry_gradient"),
        ("geometry_gradient", [1.0, math.nan], "geometry_gradient[1]"),
        ("geometry_max_norm", 0.0, "geometry_max_norm"),
        ("geometry_clip_value", -1.0, "geometry_clip_value"),
    ],
)
def test_settings_reject_bad_values(key: str, value: object, where: str) -> None:
    with pytest.raises(SettingError, match=re.escape(f"setting '{where}' = ")) as error:
        dataclasses.replace(clipping.Settings(), **{key: value})
    assert error.value.key == where


def test_loading_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    text = CONF.read_text(encoding="utf-8").replace("steps = 120", "steps = -5")
    assert "steps = -5" in text
    path = tmp_path / "clipping.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingError, match="setting 'steps' = -5: expected a positive number"):
        gw.experiments.load(path)
    with pytest.raises(SettingError, match=str(path).replace("\\", r"\\")):
        gw.experiments.load(path)


def test_loading_a_value_of_the_wrong_type_fails(tmp_path: Path) -> None:
    text = CONF.read_text(encoding="utf-8").replace("sizes = [4,", 'sizes = ["4",')
    path = tmp_path / "clipping.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TypeError, match=r"clipping.toml: setting 'sizes\[0\]'"):
        gw.experiments.load(path)


# --- the steps --------------------------------------------------------------------------------


def test_conf_setting_diverges_without_clipping(divergence: tuple[gw.History, gw.History]) -> None:
    unclipped, _ = divergence
    assert unclipped.diverged
    assert not np.isfinite(unclipped.loss[-1]) or not np.isfinite(unclipped.grad_norm[-1])
    assert unclipped.steps < 20


def test_conf_setting_converges_with_clipping(
    settings: clipping.Settings, divergence: tuple[gw.History, gw.History]
) -> None:
    _, clipped = divergence
    assert not clipped.diverged
    assert clipped.steps == settings.steps
    assert clipped.loss[-1] < 1e-3 * clipped.loss[0]
    # clipping acts at the start and then lets plain SGD run
    assert clipped.clipped[0]
    assert not clipped.clipped[-10:].any()
    np.testing.assert_array_equal(clipped.clipped, clipped.grad_norm > settings.max_norm)


def test_problem_is_deterministic() -> None:
    net_a, x_a, y_a = clipping.problem(FAST)
    net_b, x_b, y_b = clipping.problem(FAST)
    np.testing.assert_array_equal(x_a, x_b)
    np.testing.assert_array_equal(y_a, y_b)
    for p, q in zip(net_a.params(), net_b.params(), strict=True):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_allclose(y_a[:, 0], np.sin(x_a[:, 0]) + 0.5 * x_a[:, 1] * x_a[:, 2])
    assert np.std(net_a.layers[0].W) == pytest.approx(0.5, rel=0.35)


def test_train_clipped_rejects_an_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown method 'norm'"):
        clipping.train_clipped(FAST, "norm", 1.0)


def test_methods_clip_as_documented() -> None:
    none = clipping.train_clipped(FAST, "none")
    assert not none.clipped.any()
    by_norm = clipping.train_clipped(FAST, "global_norm", 1e-3)
    assert by_norm.clipped.all()
    by_value = clipping.train_clipped(FAST, "value", 1e-4)
    assert by_value.clipped.all()
    never = clipping.train_clipped(FAST, "global_norm", math.inf)
    np.testing.assert_array_equal(never.loss, none.loss)


def test_sweep_returns_one_run_per_threshold() -> None:
    calls: list[tuple[str, int, int]] = []
    sweep = clipping.threshold_sweep(
        FAST, progress=lambda label, done, total: calls.append((label, done, total))
    )
    assert list(sweep) == FAST.thresholds
    assert calls == [("threshold sweep", 1, 2), ("threshold sweep", 2, 2)]
    tiny, large = sweep[0.01], sweep[1.0]
    assert all(run.steps == FAST.steps for run in sweep.values())
    assert tiny.clipped.all()
    # the tiny threshold clips a gradient that stays large, and learns more slowly
    assert tiny.grad_norm.min() > 10 * 0.01
    assert tiny.loss[-1] > large.loss[-1]
    np.testing.assert_array_equal(tiny.loss[0], large.loss[0])


def test_sweep_matches_single_runs() -> None:
    sweep = clipping.threshold_sweep(FAST)
    single = clipping.train_clipped(FAST, "global_norm", 1.0)
    np.testing.assert_array_equal(sweep[1.0].loss, single.loss)


def test_compared_methods_share_network_and_data() -> None:
    runs = clipping.compare_methods(FAST)
    assert list(runs) == ["global_norm", "value", "adaptive"]
    assert len({float(run.loss[0]) for run in runs.values()}) == 1
    assert all(run.steps == FAST.steps for run in runs.values())
    # each run is the one train_clipped gives with that method's threshold
    by_value = clipping.train_clipped(FAST, "value", FAST.clip_value)
    np.testing.assert_array_equal(runs["value"].loss, by_value.loss)


def test_first_update_angles_turn_by_value_and_adaptive_only() -> None:
    net, x, y = clipping.problem(FAST)
    _, grads = net.loss_and_grads(x, y)
    angles = clipping.first_update_angles(FAST, net, grads)
    assert list(angles) == ["global_norm", "value", "adaptive"]
    assert angles["global_norm"] < 1e-6
    assert angles["value"] > 1.0
    assert angles["adaptive"] > 1.0
    # the same angle as measured by hand on clip_by_value
    by_value = gw.clip.clip_by_value(grads, FAST.clip_value)
    assert angles["value"] == pytest.approx(clipping.update_angle(grads, by_value), abs=1e-12)


def test_update_angle_of_parallel_and_opposite_vectors(rng: np.random.Generator) -> None:
    g = [rng.normal(size=(3, 4)), rng.normal(size=4)]
    assert clipping.update_angle(g, [0.001 * a for a in g]) == pytest.approx(0, abs=1e-9)
    assert clipping.update_angle(g, [-a for a in g]) == pytest.approx(180, abs=1e-9)


@given(st.floats(-math.pi, math.pi), st.floats(0.1, 10.0))
def test_update_angle_in_two_dimensions(phi: float, length: float) -> None:
    a = [np.array([1.0, 0.0])]
    b = [length * np.array([math.cos(phi), math.sin(phi)])]
    assert clipping.update_angle(a, b) == pytest.approx(abs(math.degrees(phi)), abs=1e-7)


def test_update_angle_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="zero"):
        clipping.update_angle([np.ones(2)], [np.zeros(2)])
    with pytest.raises(ValueError, match="same shapes"):
        clipping.update_angle([np.ones(2)], [np.ones(3)])
    with pytest.raises(ValueError, match="same shapes"):
        clipping.update_angle([np.ones(2)], [np.ones(2), np.ones(2)])


def test_geometry_global_norm_keeps_direction_value_turns_it(settings: clipping.Settings) -> None:
    geo = clipping.geometry(settings)
    np.testing.assert_array_equal(geo.gradient, settings.geometry_gradient)
    assert np.linalg.norm(geo.by_norm) == pytest.approx(settings.geometry_max_norm, rel=1e-12)
    assert np.abs(geo.by_value).max() <= settings.geometry_clip_value
    assert geo.angle_norm < 1e-9
    assert geo.angle_value > 1.0


# --- numbers and run --------------------------------------------------------------------------


def test_run_gives_the_numbers_of_the_steps() -> None:
    result = clipping.run(FAST, figures=False)
    assert result.figures == {}
    numbers = result.numbers
    assert set(numbers) == {
        "theta",
        "lr",
        "start",
        "geometry",
        "unclipped",
        "clipped",
        "sweep",
        "methods",
    }
    clipped = clipping.train_clipped(FAST, "global_norm", FAST.max_norm)
    assert numbers["clipped"]["final_loss"] == float(clipped.loss[-1])
    assert numbers["clipped"]["percent_clipped"] == 100 * float(np.mean(clipped.clipped))
    assert list(numbers["sweep"]["runs"]) == ["0.01", "1"]
    assert (numbers["sweep"]["tiny"], numbers["sweep"]["largest"]) == (0.01, 1.0)
    assert numbers["sweep"]["step"] == FAST.lr * 0.01
    assert numbers["methods"]["value"]["threshold"] == FAST.clip_value
    assert numbers["methods"]["lowest"] in clipping.METHOD_NAMES.values()
    net, _, _ = clipping.problem(FAST)
    assert numbers["start"]["n_params"] == net.n_params
    # JSON-ready: no NumPy types, no inf or nan
    assert json.loads(json.dumps(numbers, allow_nan=False)) == numbers


def test_summarise_gives_none_for_a_diverged_run(settings: clipping.Settings) -> None:
    # without any effective clipping the sweep's run diverges as the unclipped run does
    diverging = dataclasses.replace(settings, thresholds=[0.1, 1e100], steps=20)
    numbers = clipping.run(diverging, figures=False).numbers
    assert numbers["sweep"]["runs"]["1e+100"] == {
        "diverged": True,
        "final_loss": None,
        "median_grad_norm": numbers["sweep"]["runs"]["1e+100"]["median_grad_norm"],
    }
    assert numbers["sweep"]["best"] == 0.1
    assert numbers["sweep"]["largest_final"] is None
    assert json.dumps(numbers, allow_nan=False)


def test_run_reports_progress() -> None:
    calls: list[str] = []
    clipping.run(FAST, lambda label, done, total: calls.append(label), figures=False)
    assert calls == ["divergence", "threshold sweep", "threshold sweep", "methods"]


def test_run_draws_the_figures_of_the_page() -> None:
    result = clipping.run(FAST)
    assert set(result.figures) == FIGURES
    assert all(isinstance(fig, Figure) for fig in result.figures.values())
    assert result.numbers == clipping.run(FAST, figures=False).numbers


def test_conf_run_reproduces_the_page_claims(settings: clipping.Settings) -> None:
    numbers = gw.experiments.run(gw.experiments.load(CONF), figures=False).numbers
    assert numbers["unclipped"]["diverged"] is True
    assert numbers["clipped"]["final_loss"] < 1e-2
    assert 0 < numbers["clipped"]["percent_clipped"] < 100
    assert numbers["geometry"]["angle_norm"] < 1e-9
    assert numbers["geometry"]["angle_value"] > 1
    assert list(numbers["sweep"]["runs"]) == [f"{t:g}" for t in settings.thresholds]
    assert numbers["sweep"]["tiny"] < numbers["sweep"]["best"] < numbers["sweep"]["largest"]
    assert set(numbers["methods"]) == {
        "global_norm",
        "value",
        "adaptive",
        "lowest",
        "highest",
        "spread",
    }


# --- figures ----------------------------------------------------------------------------------


def test_figure_geometry_draws_the_three_vectors() -> None:
    settings = dataclasses.replace(
        clipping.Settings(),
        geometry_gradient=[3.0, 1.0],
        geometry_max_norm=1.5,
        geometry_clip_value=1.0,
    )
    fig = clipping.figure_geometry(settings, clipping.geometry(settings))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-3:] == ["gradient g", "clipped by global norm", "clipped by value"]
    endpoints = {line.get_label(): line.get_xydata()[-1] for line in ax.get_lines()}
    np.testing.assert_allclose(endpoints["gradient g"], [3.0, 1.0])
    np.testing.assert_allclose(np.linalg.norm(endpoints["clipped by global norm"]), 1.5)
    np.testing.assert_allclose(endpoints["clipped by value"], [1.0, 1.0])


def test_figure_divergence_marks_the_diverged_run() -> None:
    diverged = gw.History(
        loss=np.array([1.0, 10.0, np.inf]), grad_norm=np.array([1.0, 5.0, np.nan]), diverged=True
    )
    fine = gw.History(loss=np.array([1.0, 0.5, 0.2]), grad_norm=np.array([1.0, 0.7, 0.4]))
    fig = clipping.figure_divergence(FAST, diverged, fine)
    loss_ax, norm_ax = fig.axes
    assert loss_ax.get_yscale() == "log"
    assert norm_ax.get_yscale() == "log"
    # two lines per panel plus one cross for the diverged run
    assert len(loss_ax.get_lines()) == 3
    cross = [line for line in loss_ax.get_lines() if line.get_marker() == "x"]
    np.testing.assert_allclose(cross[0].get_xydata(), [[1.0, 10.0]])
    labels = [t.get_text() for t in loss_ax.get_legend().get_texts()]
    assert labels == ["no clipping", "global norm, θ = 1"]


def test_figure_sweep_plots_final_losses_and_step_lengths() -> None:
    runs = {
        0.1: gw.History(loss=np.array([2.0, 1.5]), grad_norm=np.array([5.0, 4.0])),
        1.0: gw.History(loss=np.array([2.0, 0.5]), grad_norm=np.array([5.0, 0.5])),
        10.0: gw.History(
            loss=np.array([2.0, np.inf]), grad_norm=np.array([50.0, np.nan]), diverged=True
        ),
    }
    fig = clipping.figure_sweep(dataclasses.replace(FAST, lr=0.1), runs)
    loss_ax, step_ax = fig.axes
    final = loss_ax.get_lines()[0].get_xydata()
    np.testing.assert_allclose(final, [[0.1, 1.5], [1.0, 0.5]])
    steps = step_ax.get_lines()[1].get_ydata()
    # median of lr * min(G, theta)
    np.testing.assert_allclose(steps, [0.01, 0.1 * np.median([1.0, 0.5]), 1.0])


def test_figure_methods_labels_the_methods() -> None:
    run = gw.History(loss=np.array([2.0, 1.0]), grad_norm=np.array([3.0, 2.0]))
    fig = clipping.figure_methods({"global_norm": run, "value": run, "adaptive": run})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["by global norm", "by value", "adaptive"]
