"""Tests of the vanishing_math experiment: linear networks and the sigmoid bound.

The page is docs/vanishing_math.md; the settings are conf/vanishing_math.toml.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import vanishing_math
from gradwatch.experiments.vanishing_math import Settings

#: The default settings already run in well under a second, and every claim of the page needs
#: them (width 128 for the 3 % agreement, depth 30 for the orders of magnitude).
SMALL: dict[str, Any] = {}

#: Settings small enough for the tests that do not check the page's claims.
TINY = Settings(
    depth=4, width=16, seeds=[0], n_samples=8, repeated_steps=5, sigmoid_depth=4, sigmoid_width=16
)


@pytest.fixture(scope="module")
def page() -> dict[str, Any]:
    """The steps of the page on the page's settings, and their numbers."""
    settings = Settings(**SMALL)
    powers = vanishing_math.matrix_powers(settings)
    random_norm = vanishing_math.random_matrix_norm(settings)
    linear = vanishing_math.linear_networks(settings)
    net = vanishing_math.sigmoid_network(settings)
    sigmoid = vanishing_math.sigmoid_profile(net, settings)
    bound = vanishing_math.sigmoid_bound(net)
    weight_grads = vanishing_math.sigmoid_weight_gradients(net, settings)
    numbers = vanishing_math.summarise(
        settings, powers, random_norm, linear, sigmoid, bound, weight_grads
    )
    return {
        "settings": settings,
        "powers": powers,
        "linear": linear,
        "net": net,
        "sigmoid": sigmoid,
        "bound": bound,
        "weight_grads": weight_grads,
        "numbers": numbers,
    }


def test_conf_file_loads_into_settings() -> None:
    experiment = gw.experiments.load("vanishing_math")
    assert isinstance(experiment.settings, Settings)
    assert experiment.settings == Settings()  # the defaults are the conf values


def test_matrix_powers_of_a_symmetric_matrix_follow_the_spectral_radius() -> None:
    settings = Settings(repeated_matrix=[[0.5, 0.0], [0.0, -0.25]], repeated_steps=4)
    powers = vanishing_math.matrix_powers(settings)
    assert powers.radius == pytest.approx(0.5)
    assert powers.largest_singular_value == pytest.approx(0.5)
    np.testing.assert_allclose(powers.norms, [0.5, 0.25, 0.125, 0.0625], rtol=1e-12)


def test_matrix_powers_grow_before_they_decay(page: dict[str, Any]) -> None:
    powers, matrix = page["powers"], page["numbers"]["matrix"]
    assert powers.radius == pytest.approx(0.9)
    assert len(powers.norms) == page["settings"].repeated_steps == matrix["steps"]
    assert powers.radius < 1 < powers.largest_singular_value
    assert matrix["peak"] == max(powers.norms) > 1
    assert powers.norms[matrix["peak_step"] - 1] == matrix["peak"]
    assert 1 < matrix["peak_step"] < matrix["steps"]
    assert matrix["last_power"] < matrix["norms"][0]
    assert matrix["last_rate"] == pytest.approx(powers.radius, rel=0.03)
    assert matrix["last_root"] > powers.radius


def test_a_nilpotent_matrix_has_a_zero_rate() -> None:
    settings = dataclasses.replace(TINY, repeated_matrix=[[0.0, 1.0], [0.0, 0.0]], repeated_steps=3)
    matrix = vanishing_math.run(settings, figures=False).numbers["matrix"]
    assert matrix["norms"] == [1.0, 0.0, 0.0]
    assert matrix["last_rate"] == 0.0
    assert matrix["radius"] == 0.0


def test_random_matrix_norm_is_near_two_and_depends_on_the_first_seed() -> None:
    norm = vanishing_math.random_matrix_norm(Settings(width=256, seeds=[0]))
    assert 1.8 < norm < 2.2  # the edge of the Marchenko-Pastur law, 2 for a square matrix
    again = vanishing_math.random_matrix_norm(Settings(width=256, seeds=[0, 5]))
    other = vanishing_math.random_matrix_norm(Settings(width=256, seeds=[5]))
    assert again == norm != other


def test_linear_networks_match_the_prediction(page: dict[str, Any]) -> None:
    settings, linear = page["settings"], page["linear"]
    assert list(linear.measured) == settings.scales
    for s in settings.scales:
        assert linear.measured[s].shape == (settings.depth + 1,)
        assert linear.measured[s][0] == pytest.approx(1.0)
        np.testing.assert_allclose(linear.predicted[s], s ** np.arange(settings.depth + 1))
        if s == 1.0:
            assert abs(linear.factors[s] - 1.0) < 0.01
        else:
            assert abs(np.log(linear.factors[s]) / np.log(s) - 1) < 0.03
        assert abs(linear.measured[s][-1] / linear.predicted[s][-1] - 1) < 0.10
    numbers = page["numbers"]["linear"]
    assert numbers["end_low"] < 1e-2
    assert numbers["end_high"] > 1e2
    assert numbers["factors"] == [linear.factors[s] for s in settings.scales]


def test_linear_networks_report_progress() -> None:
    calls: list[tuple[str, int, int]] = []

    def progress(label: str, done: int, total: int) -> None:
        calls.append((label, done, total))

    vanishing_math.linear_networks(dataclasses.replace(TINY, scales=[0.5, 2.0]), progress)
    assert calls == [("linear networks", 1, 2), ("linear networks", 2, 2)]


def test_sigmoid_network_stays_under_its_bound(page: dict[str, Any]) -> None:
    settings, net = page["settings"], page["net"]
    sigmoid, bound = page["sigmoid"], page["bound"]
    assert all(layer.activation.name == "sigmoid" for layer in net.layers)
    assert len(net.layers) == settings.sigmoid_depth
    assert float(net.layers[0].activation.derivative(np.zeros(1))[0]) == 0.25
    assert np.all(sigmoid <= bound * (1 + 1e-12))
    numbers = page["numbers"]["sigmoid"]
    below, bound_below = numbers["below"], numbers["bound_below"]
    threshold = settings.threshold
    assert 0 < below < bound_below
    assert sigmoid[below] < threshold <= sigmoid[below - 1]
    assert bound[bound_below] < threshold <= bound[bound_below - 1]
    assert numbers["factor"] < numbers["bound_factor"] < 1
    assert numbers["depth"] == settings.sigmoid_depth
    assert numbers["end"] == float(sigmoid[-1])


def test_sigmoid_bound_is_a_quarter_times_the_singular_values() -> None:
    net = vanishing_math.sigmoid_network(TINY)
    bound = vanishing_math.sigmoid_bound(net)
    norms = [np.linalg.norm(layer.W, 2) / 4 for layer in reversed(net.layers)]
    np.testing.assert_allclose(bound, np.concatenate([[1.0], np.cumprod(norms)]), rtol=1e-12)


def test_sigmoid_weight_gradients_vanish_towards_the_input(page: dict[str, Any]) -> None:
    settings, norms = page["settings"], page["weight_grads"]
    assert norms.shape == (settings.sigmoid_depth,)
    ratio = page["numbers"]["sigmoid"]["dW_ratio"]
    assert ratio == float(norms[0] / norms[-1]) < settings.threshold


def test_first_below() -> None:
    ratios = np.array([1.0, 0.5, 0.01, 0.001])
    assert vanishing_math.first_below(ratios, 0.02) == 2
    assert vanishing_math.first_below(ratios, 0.001) == -1


def test_summarise_is_json_ready() -> None:
    numbers = vanishing_math.run(TINY, figures=False).numbers
    assert json.loads(json.dumps(numbers)) == numbers
    flat = gw.experiments.flatten(numbers, "vanishing_math")
    assert all(":" not in key for key in flat)
    assert flat["vanishing_math.linear.depth"] == 4
    assert len(flat["vanishing_math.sigmoid.measured"]) == 5
    assert len(flat["vanishing_math.linear.measured"]) == len(TINY.scales)


def test_run_composes_the_steps(page: dict[str, Any]) -> None:
    result = vanishing_math.run(page["settings"], figures=False)
    assert result.figures == {}
    assert result.numbers == page["numbers"]


def test_run_reports_progress() -> None:
    calls: list[tuple[str, int, int]] = []

    def progress(label: str, done: int, total: int) -> None:
        calls.append((label, done, total))

    vanishing_math.run(TINY, progress, figures=False)
    assert calls[-1] == ("sigmoid network", 1, 1)
    assert [c for c in calls if c[0] == "linear networks"][-1] == ("linear networks", 3, 3)


def test_run_draws_the_figures() -> None:
    pytest.importorskip("matplotlib")
    result = vanishing_math.run(TINY)
    assert set(result.figures) == {"linear_depth", "sigmoid_bound"}
    linear = result.figures["linear_depth"].axes[0]
    assert linear.get_yscale() == "log"
    assert linear.get_title() == "Linear networks, width 16"
    sigmoid = result.figures["sigmoid_bound"].axes[0]
    labels = [text.get_text() for text in sigmoid.get_legend().get_texts()]
    assert labels == ["sigmoid network", "upper bound", "1e-06 of the output"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("depth", 0),
        ("width", -3),
        ("scales", []),
        ("scales", [0.0, 1.0]),
        ("scales", [1.0, 1.0]),
        ("scales", [0.8, 1e-3]),  # at depth 40, 1e-3 ** 40 = 1e-120: out of range
        ("scales", [float("nan")]),
        ("seeds", []),
        ("seeds", [0, -1]),
        ("n_samples", 0),
        ("repeated_matrix", []),
        ("repeated_matrix", [[1.0, 2.0]]),
        ("repeated_matrix", [[1.0, float("inf")], [0.0, 1.0]]),
        ("repeated_steps", 1),
        ("sigmoid_depth", 0),
        ("sigmoid_depth", 51),
        ("sigmoid_width", 0),
        ("sigmoid_scale", 0.0),
        ("sigmoid_scale", 5.0),
        ("sigmoid_seed", -1),
        ("threshold", 0.0),
        ("threshold", 1.0),
        ("threshold", float("nan")),
    ],
)
def test_settings_reject_bad_values(key: str, value: object) -> None:
    overrides = {key: value, "depth": 40} if key == "scales" else {key: value}
    with pytest.raises(gw.experiments.SettingError, match=rf"setting '{key}(\[\d+\])*'") as info:
        Settings(**overrides)
    assert info.value.key.startswith(key)


def test_settings_reject_powers_that_overflow() -> None:
    with pytest.raises(gw.experiments.SettingError, match="'repeated_steps' = 300"):
        Settings(repeated_matrix=[[10.0]], repeated_steps=300)
    Settings(repeated_matrix=[[10.0]], repeated_steps=100)  # 1e100 is allowed
    Settings(repeated_matrix=[[0.0]], repeated_steps=300)  # the zero matrix never overflows


def test_loading_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "vanishing_math.toml"
    path.write_text('[experiment]\ntitle = "t"\n\n[settings]\nthreshold = 2.0\n', encoding="utf-8")
    with pytest.raises(gw.experiments.SettingError) as info:
        gw.experiments.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: setting 'threshold' = 2.0")
    assert "(0, 1)" in message


def test_loading_a_file_of_the_wrong_type_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "vanishing_math.toml"
    path.write_text("[settings]\nrepeated_matrix = [[1, 'a'], [0, 1]]\n", encoding="utf-8")
    with pytest.raises(TypeError, match=r"repeated_matrix\[0\]\[1\]"):
        gw.experiments.load(path)
