"""The diagnosing experiment: its steps, its settings and its run."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.diagnostics import Diagnosis
from gradwatch.experiments import diagnosing
from gradwatch.experiments.diagnosing import Settings
from gradwatch.plotting import smallest_text_px

#: Smaller settings under which every claim of the page still holds.
SMALL: dict[str, Any] = {"n_samples": 128, "steps": 40}


@pytest.fixture(scope="module")
def small() -> Settings:
    return dataclasses.replace(Settings(), **SMALL)


@pytest.fixture(scope="module")
def runs(small: Settings) -> dict[str, Diagnosis]:
    return diagnosing.compare(small)


def test_the_conf_file_holds_the_defaults() -> None:
    assert gw.experiments.load("diagnosing").settings == Settings()


def test_initialisations_bad_first_then_xavier() -> None:
    inits = diagnosing.initialisations(Settings(bad_std=0.05))
    assert list(inits) == ["N(0, 0.05²)", "Xavier"]
    net = gw.MLP([200, 300], init=inits["N(0, 0.05²)"], seed=0)
    assert float(np.std(net.layers[0].W)) == pytest.approx(0.05, rel=0.02)


def test_compare_builds_the_network_of_the_settings(
    small: Settings, runs: dict[str, Diagnosis]
) -> None:
    assert list(runs) == list(diagnosing.initialisations(small))
    for run in runs.values():
        assert len(run.activations) == small.depth + 1  # hidden layers and the output
        assert run.activations[0].shape == (small.n_samples, small.width)
        assert run.history.update_ratios.shape == (small.steps, small.depth + 1)


def test_saturation_slopes_per_activation() -> None:
    slopes = diagnosing.saturation_slopes()
    # tanh at |a| = 0.97: 1 - 0.97**2; the sigmoid at a = 0.97: 0.97 * 0.03 / (1/4)
    assert slopes["tanh"] == pytest.approx(100 * (1 - 0.97**2), abs=0.01)
    assert slopes["sigmoid"] == pytest.approx(100 * 0.97 * 0.03 * 4, abs=0.01)


def test_the_figure_legend_lists_every_layer_and_reads_at_page_width(
    runs: dict[str, Diagnosis],
) -> None:
    fig = diagnosing.figure_diagnosis(runs)
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[-2:] == ["output layer", "guide 0.001"]
    assert len(labels) == len(next(iter(runs.values())).stats.grad_norm) + 1
    assert all(ax.get_legend() is None for ax in fig.axes)  # nothing drawn over the data
    assert smallest_text_px(fig) >= 9


def test_medians_of_the_update_ratios(runs: dict[str, Diagnosis]) -> None:
    run = runs["Xavier"]
    medians = diagnosing.median_update_ratios(run)
    np.testing.assert_allclose(medians, np.median(run.history.update_ratios, axis=0))


def test_the_claims_of_the_page(small: Settings, runs: dict[str, Diagnosis]) -> None:
    numbers = diagnosing.summarise(small, runs)
    bad, fixed = numbers["bad"], numbers["fixed"]
    assert bad["label"] == "N(0, 0.02²)"
    assert fixed["label"] == "Xavier"
    assert bad["verdict"] == "vanishing"
    assert fixed["verdict"] == "healthy"
    assert bad["depth_ratio"] < 1e-2 < fixed["depth_ratio"] < 1e2
    assert bad["act_std_last"] < bad["act_std_first"] / 100
    assert bad["max_saturation"] < 0.5
    assert bad["update_first"] < 1e-6
    assert 1e-4 < fixed["update_first"] < 1e-2
    assert bad["update_output"] > 100 * bad["update_first"]
    assert fixed["loss_last"] < bad["loss_last"] / 5
    assert bad["layer_verdicts"][0] == "vanishing"
    # dL/dz spans decades across the hidden layers; the weight gradients do not
    assert bad["delta"]["spread"] > 1e4
    assert bad["weight"]["spread"] < 3
    assert bad["update_first"] > bad["update"]["low"]
    assert abs(bad["act_factor"] / numbers["predicted_factor"] - 1) < 0.1
    assert numbers["steps"] == small.steps
    assert numbers["bad_std"] == small.bad_std
    flat = gw.experiments.flatten(numbers, "diagnosing")
    assert all(isinstance(v, (int, float, str, list)) for v in flat.values())
    assert not any(":" in key for key in flat)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("activation", "no_such"),
        ("n_in", 0),
        ("width", 0),
        ("depth", -1),
        ("bad_std", 0.0),
        ("n_samples", 0),
        ("lr", -0.1),
        ("lr", 0.0),  # SGD refuses it; it used to fail mid-run
        ("momentum", -0.5),
        ("momentum", 1.0),
        ("steps", -5),
        ("batch_size", 0),
        ("batch_size", 1000),  # more than n_samples
        ("seed", -1),
    ],
)
def test_bad_settings_are_rejected(key: str, value: Any) -> None:
    with pytest.raises(gw.experiments.SettingError, match=f"setting '{key}' = "):
        Settings(**{key: value})


def test_a_bad_file_fails_at_load_naming_file_and_key(tmp_path: Path) -> None:
    text = (gw.experiments.conf_dir() / "diagnosing.toml").read_text(encoding="utf-8")
    path = tmp_path / "diagnosing.toml"
    path.write_text(text.replace("steps = 100", "steps = -5"), encoding="utf-8")
    expected = "diagnosing.toml: setting 'steps' = -5: expected a positive number"
    with pytest.raises(gw.experiments.SettingError, match=re.escape(expected)):
        gw.experiments.load(path)


def test_run_gives_the_numbers_and_the_figure() -> None:
    quick = Settings(depth=3, width=16, n_samples=32, steps=3, batch_size=16)
    calls: list[tuple[str, int, int]] = []
    result = diagnosing.run(quick, lambda *args: calls.append(args), figures=False)
    assert calls == [("diagnosing", 1, 1)]
    assert result.figures == {}
    assert result.numbers == diagnosing.summarise(quick, diagnosing.compare(quick))
    drawn = diagnosing.run(quick)
    assert list(drawn.figures) == ["diagnosis"]
    axes = drawn.figures["diagnosis"].axes
    assert [ax.get_title() for ax in axes[:2]] == [
        "N(0, 0.02²): activations",
        "Xavier: activations",
    ]
    assert axes[2].get_yscale() == "log"  # gradients: log counts
