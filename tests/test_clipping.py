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
from gradwatch.experiments import SettingError, _common, clipping

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
    lrs=[0.01, 0.03],
    seeds=[0, 1],
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
        ("adaptive_eps", 0.0, "adaptive_eps"),
        ("seeds", [], "seeds"),
        ("seeds", [0, -1], "seeds[1]"),
        ("seeds", [0, 0], "seeds"),
        ("seeds", [1, 2], "seed"),
        ("lrs", [0.03, 0.0], "lrs[1]"),
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
    assert list(runs) == ["global_norm", "value", "adaptive", "adaptive_final"]
    for seed in FAST.seeds:
        assert len({float(by_seed[seed].loss[0]) for by_seed in runs.values()}) == 1
    assert all(run.steps == FAST.steps for by_seed in runs.values() for run in by_seed.values())
    # each run is the one train_clipped gives with that method's threshold and seed
    by_value = clipping.train_clipped(dataclasses.replace(FAST, seed=1), "value", FAST.clip_value)
    np.testing.assert_array_equal(runs["value"][1].loss, by_value.loss)
    assert runs["value"][0].loss[0] != runs["value"][1].loss[0]


def test_adaptive_skip_exempts_the_biases_and_the_final_layer() -> None:
    net, x, y = clipping.problem(FAST)
    params = net.params()
    assert clipping.adaptive_skip(params) == [False, True, False, True, True, True]
    assert clipping.adaptive_skip(params, final_layer=False) == [
        False, True, False, True, False, True,
    ]  # fmt: skip
    _, grads = net.loss_and_grads(x, y)
    published = clipping.clip_function(net, "adaptive", 1e-4)
    control = clipping.clip_function(net, "adaptive_final", 1e-4)
    assert published is not None
    assert control is not None
    by_published, by_control = published(list(grads)), control(list(grads))
    for i, (g, p, c) in enumerate(zip(grads, by_published, by_control, strict=True)):
        if grads[i].ndim == 1:  # biases: never clipped
            np.testing.assert_array_equal(p, g)
            np.testing.assert_array_equal(c, g)
    # the final layer's weights: free as published, clipped in the control
    np.testing.assert_array_equal(by_published[-2], grads[-2])
    assert np.linalg.norm(by_control[-2]) < np.linalg.norm(grads[-2])
    # the hidden weights are clipped by both alike
    np.testing.assert_array_equal(by_published[0], by_control[0])
    assert np.linalg.norm(by_published[0]) < np.linalg.norm(grads[0])


def test_conf_adaptive_as_published_diverges_and_the_control_does_not(
    settings: clipping.Settings,
) -> None:
    published = clipping.train_clipped(settings, "adaptive", settings.adaptive_clipping)
    control = clipping.train_clipped(settings, "adaptive_final", settings.adaptive_clipping)
    assert published.diverged
    assert not control.diverged
    assert control.loss[-1] < 0.01 * control.loss[0]


def test_effective_lr_is_the_mean_clipped_learning_rate() -> None:
    run = gw.History(loss=np.ones(3), grad_norm=np.array([100.0, 20.0, 1.0]))
    expected = 0.05 * (0.1 + 0.5 + 1.0) / 3
    assert _common.effective_lr(run, 0.05, 10.0) == pytest.approx(expected, rel=1e-14)
    clipped = clipping.train_clipped(FAST, "global_norm", FAST.max_norm)
    assert _common.effective_lr(clipped, FAST.lr, FAST.max_norm) < FAST.lr
    # a run that is never clipped has the learning rate itself
    never = clipping.train_clipped(FAST, "none")
    assert _common.effective_lr(never, FAST.lr, 1e9) == pytest.approx(FAST.lr, rel=1e-14)


def test_step_size_control_runs_every_seed_and_learning_rate() -> None:
    calls: list[tuple[str, int, int]] = []
    control = clipping.step_size_control(FAST, lambda *args: calls.append(args))
    assert calls == [("learning rates", 1, 2), ("learning rates", 2, 2)]
    assert list(control.plain) == FAST.lrs
    assert all(list(runs) == FAST.seeds for runs in control.plain.values())
    assert all(not run.clipped.any() for run in control.matched.values())
    # the plain run at lr (not one of lrs here) is the unclipped run of train_clipped
    assert FAST.lr not in FAST.lrs
    np.testing.assert_array_equal(
        control.same_lr[0].loss, clipping.train_clipped(FAST, "none").loss
    )
    at_lr = clipping.step_size_control(dataclasses.replace(FAST, lrs=[FAST.lr]))
    assert at_lr.same_lr is at_lr.plain[FAST.lr]
    # the matched run of a seed is plain SGD at that seed's clipped average learning rate
    seed1 = dataclasses.replace(FAST, seed=1)
    lr = _common.effective_lr(control.clipped[1], FAST.lr, FAST.max_norm)
    np.testing.assert_array_equal(
        control.matched[1].loss, clipping.train_clipped(seed1, "none", lr=lr).loss
    )


def test_seed_summary_reads_as_english() -> None:
    inf = math.inf
    assert _common.seed_summary([0.1, 0.3, 0.2])["diverged_text"] == "none"
    assert _common.seed_summary([0.1, inf, 0.2])["diverged_text"] == "1 of 3"
    everything = _common.seed_summary([inf, inf])
    assert everything["diverged_text"] == "all 2"
    assert everything["median"] is None
    assert everything["loss"] == "no run converged"
    assert _common.seed_summary([inf])["diverged_text"] == "yes"
    # a range whose ends agree at the printed precision reads as one number
    assert _common.seed_summary([0.25, 0.2500001])["loss"] == "0.25"
    assert _common.seed_summary([0.1, 0.3, 0.2])["loss"] == "0.2 (0.1 to 0.3)"
    assert _common.median_range_text(2.0, 1.0, 99.76) == "2 (1 to 100)"
    assert [clipping.steps_text(n) for n in (0, 1, 2)] == ["0 steps", "1 step", "2 steps"]


def test_first_update_angles_turn_by_value_and_adaptive_only() -> None:
    net, x, y = clipping.problem(FAST)
    _, grads = net.loss_and_grads(x, y)
    angles = clipping.first_update_angles(FAST, net, grads)
    assert list(angles) == ["global_norm", "value", "adaptive", "adaptive_final"]
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
        "step_size",
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
    assert calls == [
        "divergence",
        *["learning rates"] * len(FAST.lrs),
        *["threshold sweep"] * len(FAST.thresholds),
        *["methods"] * 4,
    ]


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
        "adaptive_final",
        "seeds",
        "seed",
        "bias_cap",
        "lowest",
        "highest",
        "spread",
    }
    # adaptive clipping as published diverges on every seed, the control on none
    assert numbers["methods"]["adaptive"]["diverged_text"] == f"all {len(settings.seeds)}"
    assert numbers["methods"]["adaptive_final"]["diverged"] == 0
    # clipping beats every constant learning rate of the sweep, seed by seed
    assert numbers["step_size"]["beats_every_lr"] == len(settings.seeds)
    assert numbers["step_size"]["matched"]["diverged"] >= 1


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
    # nothing cropped: the whole circle is in view (it used to be cut at the left and bottom)
    (x_low, x_high), (y_low, y_high) = ax.get_xlim(), ax.get_ylim()
    assert x_low < -1.5
    assert y_low < -1.5
    assert x_high > 3.0
    assert y_high > 1.5
    # a gradient pointing the other way is in view too
    other = dataclasses.replace(settings, geometry_gradient=[-3.0, -2.0])
    ax = clipping.figure_geometry(other, clipping.geometry(other)).axes[0]
    assert ax.get_xlim()[0] < -3.0
    assert ax.get_ylim()[0] < -2.0


def test_figures_are_readable_at_the_page_width() -> None:
    for name, fig in clipping.run(FAST).figures.items():
        assert gw.plotting.smallest_text_px(fig) >= 9, name
    fig, ax = gw.plotting.figure(width=12.0, height=3.0)
    ax.set_xlabel("too small once scaled", fontsize=9)
    assert gw.plotting.smallest_text_px(fig) < 9


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
    assert labels == ["by global norm", "by value", "adaptive (as published)"]
