"""Tests of the clipping page's library code: settings, runs, sweep, angles and figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradwatch as gw

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

CONF = Path(__file__).resolve().parents[1] / "conf" / "clipping.toml"

SMALL = {
    "sizes": [4, 8, 8, 1],
    "activation": "relu",
    "init_std": 0.5,
    "n_samples": 16,
    "seed": 0,
    "lr": 0.05,
    "steps": 15,
    "thresholds": [0.01, 1.0],
    "max_norm": 1.0,
    "clip_value": 0.1,
    "adaptive_clipping": 0.05,
}


@pytest.fixture(scope="module")
def settings() -> dict[str, object]:
    return gw.experiments.load(CONF).settings


@pytest.fixture(scope="module")
def divergence(settings: dict[str, object]) -> tuple[gw.History, gw.History]:
    unclipped = gw.experiments.clipping_run(settings, "none")
    clipped = gw.experiments.clipping_run(settings, "global_norm", settings["max_norm"])
    return unclipped, clipped


def test_conf_loads_with_its_kind(settings: dict[str, object]) -> None:
    experiment = gw.experiments.load(CONF)
    assert experiment.kind == "clipping"
    assert set(settings) == set(gw.experiments.CLIPPING_SCHEMA)
    thresholds = settings["thresholds"]
    assert thresholds == sorted(thresholds)
    assert settings["max_norm"] in thresholds


def test_conf_setting_diverges_without_clipping(divergence: tuple[gw.History, gw.History]) -> None:
    unclipped, _ = divergence
    assert unclipped.diverged
    assert not np.isfinite(unclipped.loss[-1]) or not np.isfinite(unclipped.grad_norm[-1])
    assert unclipped.steps < 20


def test_conf_setting_converges_with_clipping(
    settings: dict[str, object], divergence: tuple[gw.History, gw.History]
) -> None:
    _, clipped = divergence
    assert not clipped.diverged
    assert clipped.steps == settings["steps"]
    assert clipped.loss[-1] < 1e-3 * clipped.loss[0]
    # clipping acts at the start and then lets plain SGD run
    assert clipped.clipped[0]
    assert not clipped.clipped[-10:].any()
    np.testing.assert_array_equal(clipped.clipped, clipped.grad_norm > settings["max_norm"])


def test_clipping_problem_is_deterministic() -> None:
    net_a, x_a, y_a = gw.experiments.clipping_problem(SMALL)
    net_b, x_b, y_b = gw.experiments.clipping_problem(SMALL)
    np.testing.assert_array_equal(x_a, x_b)
    np.testing.assert_array_equal(y_a, y_b)
    for p, q in zip(net_a.params(), net_b.params(), strict=True):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_allclose(y_a[:, 0], np.sin(x_a[:, 0]) + 0.5 * x_a[:, 1] * x_a[:, 2])
    assert np.std(net_a.layers[0].W) == pytest.approx(0.5, rel=0.35)


@pytest.mark.parametrize("sizes", [[2, 8, 1], [4, 8, 2], [4]])
def test_clipping_problem_rejects_bad_sizes(sizes: list[int]) -> None:
    with pytest.raises(ValueError, match="sizes"):
        gw.experiments.clipping_problem({**SMALL, "sizes": sizes})


def test_clipping_run_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown method 'norm'"):
        gw.experiments.clipping_run(SMALL, "norm", 1.0)


def test_clipping_run_methods_clip_as_documented() -> None:
    none = gw.experiments.clipping_run(SMALL, "none")
    assert not none.clipped.any()
    by_norm = gw.experiments.clipping_run(SMALL, "global_norm", 1e-3)
    assert by_norm.clipped.all()
    by_value = gw.experiments.clipping_run(SMALL, "value", 1e-4)
    assert by_value.clipped.all()
    never = gw.experiments.clipping_run(SMALL, "global_norm", math.inf)
    np.testing.assert_array_equal(never.loss, none.loss)


def test_sweep_returns_one_run_per_threshold() -> None:
    calls: list[tuple[str, int, int]] = []
    sweep = gw.experiments.clip_threshold_sweep(
        SMALL, progress=lambda label, done, total: calls.append((label, done, total))
    )
    assert list(sweep) == SMALL["thresholds"]
    assert calls == [("threshold sweep", 1, 2), ("threshold sweep", 2, 2)]
    tiny, large = sweep[0.01], sweep[1.0]
    assert all(run.steps == SMALL["steps"] for run in sweep.values())
    assert tiny.clipped.all()
    # the tiny threshold clips a gradient that stays large, and learns more slowly
    assert tiny.grad_norm.min() > 10 * 0.01
    assert tiny.loss[-1] > large.loss[-1]
    np.testing.assert_array_equal(tiny.loss[0], large.loss[0])


def test_sweep_matches_single_runs() -> None:
    sweep = gw.experiments.clip_threshold_sweep(SMALL)
    single = gw.experiments.clipping_run(SMALL, "global_norm", 1.0)
    np.testing.assert_array_equal(sweep[1.0].loss, single.loss)


def test_compare_methods_share_network_and_data() -> None:
    runs = gw.experiments.compare_clipping_methods(SMALL)
    assert list(runs) == ["global_norm", "value", "adaptive"]
    first = {float(run.loss[0]) for run in runs.values()}
    assert len(first) == 1
    assert all(run.steps == SMALL["steps"] for run in runs.values())


def test_update_angle_of_parallel_and_opposite_vectors(rng: np.random.Generator) -> None:
    g = [rng.normal(size=(3, 4)), rng.normal(size=4)]
    assert gw.experiments.update_angle(g, [0.001 * a for a in g]) == pytest.approx(0, abs=1e-9)
    assert gw.experiments.update_angle(g, [-a for a in g]) == pytest.approx(180, abs=1e-9)


@given(st.floats(-math.pi, math.pi), st.floats(0.1, 10.0))
def test_update_angle_in_two_dimensions(phi: float, length: float) -> None:
    a = [np.array([1.0, 0.0])]
    b = [length * np.array([math.cos(phi), math.sin(phi)])]
    assert gw.experiments.update_angle(a, b) == pytest.approx(abs(math.degrees(phi)), abs=1e-7)


def test_update_angle_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="zero"):
        gw.experiments.update_angle([np.ones(2)], [np.zeros(2)])
    with pytest.raises(ValueError, match="same shapes"):
        gw.experiments.update_angle([np.ones(2)], [np.ones(3)])
    with pytest.raises(ValueError, match="same shapes"):
        gw.experiments.update_angle([np.ones(2)], [np.ones(2), np.ones(2)])


def test_global_norm_keeps_direction_value_turns_it(settings: dict[str, object]) -> None:
    g = [np.array(settings["geometry_gradient"])]
    by_norm, _ = gw.clip.clip_by_global_norm(g, settings["geometry_max_norm"])
    by_value = gw.clip.clip_by_value(g, settings["geometry_clip_value"])
    assert gw.experiments.update_angle(g, by_norm) < 1e-9
    assert gw.experiments.update_angle(g, by_value) > 1.0


def test_clip_geometry_draws_the_three_vectors() -> None:
    fig = gw.plotting.clip_geometry([3.0, 1.0], max_norm=1.5, clip_value=1.0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-3:] == ["gradient g", "clipped by global norm", "clipped by value"]
    endpoints = {line.get_label(): line.get_xydata()[-1] for line in ax.get_lines()}
    np.testing.assert_allclose(endpoints["gradient g"], [3.0, 1.0])
    np.testing.assert_allclose(np.linalg.norm(endpoints["clipped by global norm"]), 1.5)
    np.testing.assert_allclose(endpoints["clipped by value"], [1.0, 1.0])


def test_clip_geometry_rejects_a_3d_gradient() -> None:
    with pytest.raises(ValueError, match="2 entries"):
        gw.plotting.clip_geometry([1.0, 2.0, 3.0], max_norm=1.0, clip_value=1.0)


def test_training_curves_marks_a_diverged_run() -> None:
    diverged = gw.History(
        loss=np.array([1.0, 10.0, np.inf]), grad_norm=np.array([1.0, 5.0, np.nan]), diverged=True
    )
    fine = gw.History(loss=np.array([1.0, 0.5, 0.2]), grad_norm=np.array([1.0, 0.7, 0.4]))
    fig = gw.plotting.training_curves({"a": diverged, "b": fine}, title="t")
    assert isinstance(fig, Figure)
    loss_ax, norm_ax = fig.axes
    assert loss_ax.get_yscale() == "log"
    assert norm_ax.get_yscale() == "log"
    # two lines per panel plus one cross for the diverged run
    assert len(loss_ax.get_lines()) == 3
    cross = [line for line in loss_ax.get_lines() if line.get_marker() == "x"]
    np.testing.assert_allclose(cross[0].get_xydata(), [[1.0, 10.0]])


def test_clip_sweep_plots_final_losses_and_step_lengths() -> None:
    runs = {
        0.1: gw.History(loss=np.array([2.0, 1.5]), grad_norm=np.array([5.0, 4.0])),
        1.0: gw.History(loss=np.array([2.0, 0.5]), grad_norm=np.array([5.0, 0.5])),
        10.0: gw.History(
            loss=np.array([2.0, np.inf]), grad_norm=np.array([50.0, np.nan]), diverged=True
        ),
    }
    fig = gw.plotting.clip_sweep(runs, lr=0.1)
    assert isinstance(fig, Figure)
    loss_ax, step_ax = fig.axes
    final = loss_ax.get_lines()[0].get_xydata()
    np.testing.assert_allclose(final, [[0.1, 1.5], [1.0, 0.5]])
    steps = step_ax.get_lines()[1].get_ydata()
    # median of lr * min(G, theta)
    np.testing.assert_allclose(steps, [0.01, 0.1 * np.median([1.0, 0.5]), 1.0])


def test_runner_reproduces_the_page_numbers(settings: dict[str, object]) -> None:
    result = gw.experiments.run(gw.experiments.load(CONF))
    numbers = result.numbers
    assert numbers["unclipped_diverged"] is True
    assert numbers["clipped_final_loss"] < 1e-2
    assert 0 < numbers["clipped_fraction"] < 1
    assert numbers["geometry_angle_global_norm"] < 1e-9
    assert numbers["geometry_angle_value"] > 1
    assert list(numbers["sweep"]) == [f"{t:g}" for t in settings["thresholds"]]
    assert set(numbers["methods_final_loss"]) == {"global_norm", "value", "adaptive"}
    assert set(result.figures) == {
        "clipping_geometry",
        "clipping_divergence",
        "clipping_sweep",
        "clipping_methods",
    }
    assert all(isinstance(fig, Figure) for fig in result.figures.values())
