"""The signal-propagation experiment: its steps, its settings and its run."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import signal_propagation
from gradwatch.experiments.signal_propagation import Settings

#: Smaller settings under which every claim of the page still holds.
SMALL: dict[str, Any] = {
    "map_points": 11,
    "width": 200,
    "depth": 16,
    "skip": 3,
    "seeds": [0],
    "spectrum_width": 64,
}


@pytest.fixture(scope="module")
def small() -> Settings:
    return dataclasses.replace(Settings(), **SMALL)


@pytest.fixture(scope="module")
def comparison(small: Settings) -> dict[str, Any]:
    return signal_propagation.compare_with_theory(small)


@pytest.fixture(scope="module")
def spectra(small: Settings) -> signal_propagation.Spectra:
    return signal_propagation.jacobian_spectra(small)


@pytest.fixture(scope="module")
def correlations(small: Settings) -> signal_propagation.Correlations:
    return signal_propagation.correlation_profiles(small)


@pytest.fixture(scope="module")
def trainability(small: Settings) -> signal_propagation.Trainability:
    return signal_propagation.train_at_depths(small)


def test_the_conf_file_holds_the_defaults() -> None:
    assert gw.experiments.load("signal_propagation").settings == Settings()


def test_phase_diagram_is_ordered_left_and_chaotic_right(small: Settings) -> None:
    diagram = signal_propagation.phase_diagram(small)
    assert diagram.chi.shape == (small.map_points, small.map_points)
    assert diagram.sigma_w[[0, -1]].tolist() == small.map_sigma_w
    assert diagram.sigma_b[[0, -1]].tolist() == small.map_sigma_b
    assert np.all(diagram.chi[:, 0] < 1)
    assert np.all(diagram.chi[:, -1] > 1)
    # chi_1 grows with sigma_w along every row.
    assert np.all(np.diff(diagram.chi, axis=1) > 0)
    # The edge at the top of the map lies right of sigma_w = 1 and has chi_1 = 1 there.
    top = float(diagram.sigma_b[-1])
    assert diagram.edge_top > 1.0
    assert gw.theory.chi_1(small.activation, diagram.edge_top, top) == pytest.approx(1, abs=1e-5)


def test_measured_chi_1_agrees_with_theory(small: Settings, comparison: dict[str, Any]) -> None:
    assert comparison["sigma_w"].tolist() == small.sigma_ws
    predicted = [gw.theory.chi_1(small.activation, w, small.sigma_b) for w in small.sigma_ws]
    np.testing.assert_allclose(comparison["predicted"], predicted)
    assert np.all(signal_propagation.relative_errors(comparison) < small.tolerance)
    assert comparison["predicted"][0] < 1 < comparison["predicted"][-1]


def test_gradient_profiles(small: Settings, comparison: dict[str, Any]) -> None:
    measured, predicted = signal_propagation.gradient_profiles(small, comparison)
    assert list(measured) == list(predicted) == [f"$\\sigma_w$ = {w:g}" for w in small.sigma_ws]
    for (label, profile), chi in zip(measured.items(), comparison["predicted"], strict=True):
        assert profile.shape == (small.depth + 1,)
        assert profile[-1] == pytest.approx(1.0)  # relative to the output
        np.testing.assert_allclose(predicted[label], chi ** np.arange(small.depth, -1, -1))


def test_relative_errors() -> None:
    table = {"predicted": np.array([0.5, 2.0]), "measured": np.array([0.4, 2.5])}
    np.testing.assert_allclose(signal_propagation.relative_errors(table), [0.2, 0.25])


def test_spread_ignores_the_smallest_singular_values() -> None:
    tiny = signal_propagation.Spectra(1.0, {"a": np.array([4.0, 2.0, 1.0, 1e-300])})
    assert signal_propagation.spread(tiny) == {
        "a": {"max_over_median": pytest.approx(4.0 / 1.5), "share_within_10x": 0.75}
    }


def test_orthogonal_weights_keep_the_spectrum_together(
    small: Settings, spectra: signal_propagation.Spectra
) -> None:
    edge = gw.theory.chi_1(small.activation, spectra.sigma_w, small.spectrum_sigma_b)
    assert edge == pytest.approx(1.0, abs=1e-5)
    assert sorted(spectra.values) == ["gaussian", "orthogonal"]
    assert all(v.shape == (small.spectrum_width,) for v in spectra.values.values())
    spread = signal_propagation.spread(spectra)
    gauss, ortho = spread["gaussian"], spread["orthogonal"]
    assert ortho["max_over_median"] < 10 < 1000 < gauss["max_over_median"]
    assert ortho["share_within_10x"] > 0.9 > 0.5 > gauss["share_within_10x"]


def test_correlations_follow_the_c_map(
    small: Settings, correlations: signal_propagation.Correlations
) -> None:
    depth = small.depth
    assert correlations.measured.shape == correlations.predicted.shape == (4, depth + 1)
    np.testing.assert_allclose(correlations.predicted[:, 0], small.c0)
    assert np.max(np.abs(correlations.measured - correlations.predicted)) < small.tolerance
    # the first two scales are ordered (c* = 1), the last two chaotic (c* < 1)
    assert correlations.c_star.tolist()[:2] == [1.0, 1.0]
    assert np.all(correlations.c_star[2:] < 1)
    fitted = signal_propagation.fitted_depth_scale(correlations.measured[0], small.skip)
    assert fitted == pytest.approx(correlations.depth_scale[0], rel=0.1)


def test_measured_correlations_of_orthogonal_inputs_stay_zero_in_a_linear_network() -> None:
    net = gw.diagnostics.random_mlp(64, 3, "identity", sigma_w=1.0, seed=0)
    z0 = np.zeros((2, 1, 64))
    z0[0, 0, 0] = z0[1, 0, 1] = 1.0
    values = signal_propagation.measured_correlations(net, z0, "identity")
    assert values[0] == 0.0
    assert np.all(np.abs(values) < 0.5)  # random projections keep them nearly orthogonal


def test_ordered_networks_stop_training_past_about_six_xi_c(
    small: Settings, trainability: signal_propagation.Trainability
) -> None:
    depths = np.asarray(trainability.depths)
    six_xi = 6 * trainability.depth_scale
    ordered = trainability.loss_ratio["ordered"]
    assert ordered.shape == (len(small.train_depths), len(small.train_seeds))
    assert np.all(ordered[depths <= six_xi] < small.trained_below)
    assert np.all(ordered[depths >= 2 * six_xi] >= small.trained_below)
    assert np.all(trainability.loss_ratio["critical"] < small.trained_below)
    expected = gw.theory.critical_sigma_w(small.activation, small.sigma_b)
    assert trainability.sigma_w == {"ordered": small.train_sigma_w, "critical": expected}


def test_summarise_gives_the_numbers_of_the_page(
    small: Settings,
    comparison: dict[str, Any],
    spectra: signal_propagation.Spectra,
    correlations: signal_propagation.Correlations,
    trainability: signal_propagation.Trainability,
) -> None:
    diagram = signal_propagation.phase_diagram(small)
    numbers = signal_propagation.summarise(
        small, diagram, comparison, spectra, correlations, trainability
    )
    training = numbers["training"]
    assert training["six_xi"] < training["failed"] < 2 * training["six_xi"]
    assert training["deepest"] < training["failed"]
    assert training["deepest_xi"] == pytest.approx(training["deepest"] / training["xi"])
    assert training["critical_all"] is True
    assert numbers["correlation"]["c_end_ordered"] == correlations.measured[0, -1]
    assert numbers["map"] == {"top_sigma_b": 1.0, "edge_top": diagram.edge_top}
    compared = numbers["comparison"]
    assert compared["n_seeds"] == len(small.seeds)
    assert compared["max_error_percent"] < compared["tolerance_percent"] == 5.0
    assert compared["total_low"] == pytest.approx(compared["chi_low"] ** small.depth)
    assert compared["sw_low"] == small.sigma_ws[0]
    assert compared["sw_high"] == small.sigma_ws[-1]
    share = signal_propagation.spread(spectra)["gaussian"]["share_within_10x"]
    assert numbers["spectra"]["gaussian"]["percent_within_10x"] == pytest.approx(100 * share)
    flat = gw.experiments.flatten(numbers, "signal_propagation")
    assert all(isinstance(v, (int, float, list, str)) for v in flat.values())
    assert not any(":" in key for key in flat)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("activation", "no_such"),
        ("map_sigma_w", [3.0, 0.5]),
        ("map_sigma_w", [0.5]),
        ("map_sigma_w", [0.0, 3.0]),
        ("map_sigma_b", [-1.0, 1.0]),
        ("map_points", 1),
        ("sigma_ws", []),
        ("sigma_ws", [0.8, -1.0]),
        ("sigma_b", -0.1),
        ("width", 0),
        ("depth", -1),
        ("skip", -1),
        ("skip", 12),  # depth 24 needs skip < 12
        ("seeds", []),
        ("seeds", [0, -1]),
        ("n_samples", 0),
        ("tolerance", 0.0),
        ("spectrum_width", 0),
        ("spectrum_depth", 0),
        ("spectrum_sigma_b", -0.01),
        ("spectrum_seed", -1),
        ("sigma_b", 0.0),
        ("c0", 1.0),
        ("c0", -1.5),
        ("c_pairs", 0),
        ("train_sigma_w", 0.0),
        ("train_depths", []),
        ("train_depths", [8, 4]),
        ("train_depths", [0, 4]),
        ("train_width", 0),
        ("train_samples", 0),
        ("train_batch", 0),
        ("train_batch", 1000),
        ("train_steps", 0),
        ("train_lr", 0.0),
        ("train_seeds", []),
        ("train_seeds", [-1]),
        ("trained_below", 0.0),
        ("trained_below", 1.0),
    ],
)
def test_bad_settings_are_rejected(key: str, value: Any) -> None:
    with pytest.raises(gw.experiments.SettingError, match=f"setting '{key}"):
        Settings(**{key: value})


def test_scales_without_a_mean_field_prediction_are_rejected() -> None:
    # ReLU at sigma_w^2 > 2: the variance grows without bound, no fixed point.
    with pytest.raises(gw.experiments.SettingError, match=r"setting 'sigma_ws\[1\]' = 1\.7"):
        Settings(activation="relu", map_sigma_w=[0.5, 1.2], sigma_ws=[0.8, 1.7])
    # ELU has no fixed point over most of the map.
    with pytest.raises(gw.experiments.SettingError, match="setting 'map_sigma_w'"):
        Settings(activation="elu")
    # tanh without bias: the edge sits at q* = 0, which the q-map reaches too slowly.
    with pytest.raises(gw.experiments.SettingError, match=r"setting 'spectrum_sigma_b' = 0\.0"):
        Settings(spectrum_sigma_b=0.0)


def test_a_bad_file_fails_at_load_naming_file_and_key(tmp_path: Path) -> None:
    text = (gw.experiments.conf_dir() / "signal_propagation.toml").read_text(encoding="utf-8")
    path = tmp_path / "signal_propagation.toml"
    path.write_text(text.replace("width = 300", "width = -5"), encoding="utf-8")
    expected = "signal_propagation.toml: setting 'width' = -5: expected a positive number"
    with pytest.raises(gw.experiments.SettingError, match=re.escape(expected)):
        gw.experiments.load(path)


def test_run_gives_the_numbers_and_the_figures(small: Settings) -> None:
    calls: list[tuple[str, int, int]] = []
    result = signal_propagation.run(small, lambda *args: calls.append(args), figures=False)
    assert ("signal propagation", 4, 4) in calls
    assert calls[-1] == ("training", 12, 12)
    assert result.figures == {}
    assert sorted(result.numbers) == ["comparison", "correlation", "map", "spectra", "training"]
    assert result.numbers["comparison"]["max_error_percent"] < 5
    quick = dataclasses.replace(
        small, width=40, depth=6, skip=1, spectrum_depth=4, train_depths=[2], train_steps=5
    )
    drawn = signal_propagation.run(quick)
    assert sorted(drawn.figures) == [
        "chi_1_map",
        "correlations",
        "jacobian_spectra",
        "theory_vs_measurement",
        "trainability",
    ]
    for stem in ("theory_vs_measurement", "correlations"):
        for line in drawn.figures[stem].axes[0].get_lines():  # the input is layer 0
            assert line.get_xdata().tolist() == list(range(quick.depth + 1))
