"""Tests of the exploding_math experiment: ReLU networks, weight scale and clipping.

The page is docs/exploding_math.md; the settings are conf/exploding_math.toml.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import exploding_math
from gradwatch.experiments.exploding_math import Settings

#: The default settings already run in about a second, and the page's 3 % agreement with
#: s**2 / 2 needs their width and seeds.
SMALL: dict[str, Any] = {}

#: ReLU and the activations it replaced, the article's baseline.
ACTIVATIONS = ("relu", "tanh", "sigmoid")

#: Settings small enough for the tests that do not check the page's claims.
TINY = Settings(depth=4, width=16, seeds=[0], n_samples=8)


@pytest.fixture(scope="module")
def page() -> dict[str, Any]:
    """The steps of the page on the page's settings, and their numbers."""
    settings = Settings(**SMALL)
    growth = exploding_math.orthogonal_profile(settings)
    relu = exploding_math.relu_networks(settings)
    saturating = exploding_math.saturating_networks(settings)
    layers = {name: exploding_math.layer_gradients(settings, name) for name in ACTIVATIONS}
    linear_high = exploding_math.linear_same_weights(settings)
    problem = exploding_math.exploding_problem(settings)
    clipping = exploding_math.clip_gradients(problem, settings)
    step = exploding_math.clipped_step(problem, clipping, settings)
    numbers = exploding_math.summarise(
        settings, growth, relu, saturating, layers, linear_high, clipping, step
    )
    return {
        "settings": settings,
        "growth": growth,
        "relu": relu,
        "saturating": saturating,
        "layers": layers,
        "linear_high": linear_high,
        "clipping": clipping,
        "step": step,
        "numbers": numbers,
    }


def test_conf_file_loads_into_settings() -> None:
    experiment = gw.experiments.load("exploding_math")
    assert isinstance(experiment.settings, Settings)
    assert experiment.settings == Settings()  # the defaults are the conf values
    assert math.sqrt(2.0) in experiment.settings.scales


def test_orthogonal_network_grows_by_the_gain_per_layer(page: dict[str, Any]) -> None:
    settings, growth = page["settings"], page["growth"]
    gain = settings.orthogonal_gain
    assert gain > 1
    np.testing.assert_allclose(growth, gain ** np.arange(settings.depth + 1), rtol=1e-10, atol=0)
    assert page["numbers"]["orthogonal"]["growth"] == pytest.approx(gain**settings.depth)


def test_relu_networks_match_s_squared_over_two(page: dict[str, Any]) -> None:
    settings, relu = page["settings"], page["relu"]
    assert list(relu.measured) == settings.scales
    for s in settings.scales:
        assert relu.measured[s].shape == (settings.depth + 1,)
        np.testing.assert_allclose(
            relu.predicted[s], (s / math.sqrt(2)) ** np.arange(settings.depth + 1)
        )
        assert abs(relu.squared_factors[s] / (s * s / 2) - 1) < 0.03
    numbers = page["numbers"]["relu"]
    assert numbers["chi_he"] == relu.squared_factors[math.sqrt(2.0)]
    assert numbers["chi_he"] == pytest.approx(1.0, abs=0.03)
    assert numbers["chi_theory"] == pytest.approx([s * s / 2 for s in settings.scales])


def test_the_scale_alone_sets_the_growth_of_a_relu_network(page: dict[str, Any]) -> None:
    """Zero biases: the same units are active at every scale (positive homogeneity)."""
    settings, relu = page["settings"], page["relu"]
    low, high = min(settings.scales), max(settings.scales)
    d = np.arange(settings.depth + 1)
    np.testing.assert_allclose(relu.measured[high] / relu.measured[low], (high / low) ** d, 1e-9)


def test_the_relu_slows_the_explosion(page: dict[str, Any]) -> None:
    numbers = page["numbers"]["relu"]
    assert numbers["end_linear_high"] > numbers["end_high"] > 1
    assert numbers["end_linear_high"] == float(page["linear_high"][-1])


def test_tanh_and_sigmoid_match_mean_field_theory(page: dict[str, Any]) -> None:
    settings, saturating = page["settings"], page["saturating"]
    assert sorted(saturating) == ["sigmoid", "tanh"]
    for name, profiles in saturating.items():
        for s in settings.scales:
            chi = gw.theory.chi_1(name, s)
            assert profiles.squared_factors[s] == pytest.approx(chi, rel=0.03)
            np.testing.assert_allclose(profiles.predicted[s][2], chi)
    # the sigmoid's slope is at most 1/4: its factor at most s**2 / 16, vanishing at all scales
    assert all(saturating["sigmoid"].squared_factors[s] <= s * s / 16 for s in settings.scales)


def test_relu_against_tanh_depends_on_the_scale(page: dict[str, Any]) -> None:
    settings, relu, tanh = page["settings"], page["relu"], page["saturating"]["tanh"]
    low, high = min(settings.scales), max(settings.scales)
    assert tanh.squared_factors[low] > relu.squared_factors[low]
    assert relu.squared_factors[high] > tanh.squared_factors[high]


def test_the_relu_slope_never_grows_a_gradient_but_its_activations_grow_dw(
    page: dict[str, Any],
) -> None:
    layers = page["layers"]
    assert layers["relu"].slope_gain <= 1.0
    assert layers["sigmoid"].slope_gain <= 0.25
    relu, tanh = layers["relu"], layers["tanh"]
    assert relu.weight_grad_norms.shape == (len(page["settings"].seeds), page["settings"].depth)
    assert np.all(tanh.activation_rms < 1)  # bounded
    assert np.all(relu.activation_rms[:, -2] > 10 * tanh.activation_rms[:, -2])
    assert np.all(relu.weight_grad_norms[:, -1] > 10 * tanh.weight_grad_norms[:, -1])
    baseline = page["numbers"]["baseline"]
    assert baseline["dW_ratio_min"] == pytest.approx(
        float(np.min(relu.weight_grad_norms[:, -1] / tanh.weight_grad_norms[:, -1]))
    )
    assert baseline["relu"]["slope_gain"] == relu.slope_gain


def test_a_slope_above_one_would_be_caught() -> None:
    """The measured slope gain is a real measurement: a leaky ReLU with slope 2 shows it."""

    class Doubling(gw.activations.LeakyReLU):
        name = "doubling"

        def derivative(self, z: np.ndarray) -> np.ndarray:
            return 2.0 * super().derivative(z)

    net = gw.MLP([4, 4, 4], activation=Doubling(), output_activation=Doubling(), seed=0)
    passed = gw.diagnostics.trace(net, np.ones((2, 4)), dy=np.ones((2, 4)))
    pairs = zip(passed.dz, passed.da[1:], strict=True)
    gains = [np.linalg.norm(dz) / np.linalg.norm(da) for dz, da in pairs]
    assert max(gains) > 1


def test_relu_networks_report_progress() -> None:
    calls: list[tuple[str, int, int]] = []

    def progress(label: str, done: int, total: int) -> None:
        calls.append((label, done, total))

    exploding_math.relu_networks(dataclasses.replace(TINY, scales=[0.9, 2.0]), progress)
    assert calls == [("ReLU networks", 1, 2), ("ReLU networks", 2, 2)]


def test_exploding_problem_uses_the_largest_scale_and_the_first_seed() -> None:
    settings = dataclasses.replace(TINY, seeds=[3, 4])
    problem = exploding_math.exploding_problem(settings)
    same = gw.diagnostics.random_mlp(16, 4, "relu", sigma_w=max(settings.scales), seed=3)
    for layer, other in zip(problem.net.layers, same.layers, strict=True):
        np.testing.assert_array_equal(layer.W, other.W)
    assert problem.x.shape == problem.y.shape == (8, 16)


def test_clipping_keeps_the_direction_and_bounds_the_step(page: dict[str, Any]) -> None:
    settings, clipping, step = page["settings"], page["clipping"], page["step"]
    theta, lr = settings.clip_threshold, settings.learning_rate
    assert clipping.norm > theta
    assert clipping.norm == pytest.approx(gw.clip.global_norm(clipping.grads), rel=1e-12)
    assert abs(clipping.norm_clipped - theta) < 1e-12 * theta
    assert abs(clipping.cosine - 1) < 1e-12
    for g, c in zip(clipping.grads, clipping.clipped, strict=True):
        np.testing.assert_allclose(c, g * (theta / clipping.norm), rtol=1e-12)
    assert abs(step.length / (lr * theta) - 1) < 1e-9
    assert step.norm_next > 100 * theta  # the cause is still there after the step


def test_clipping_leaves_a_small_gradient_alone() -> None:
    settings = dataclasses.replace(TINY, clip_threshold=1e12)
    problem = exploding_math.exploding_problem(settings)
    clipping = exploding_math.clip_gradients(problem, settings)
    assert clipping.norm_clipped == clipping.norm < 1e12
    step = exploding_math.clipped_step(problem, clipping, settings)
    assert step.length == pytest.approx(settings.learning_rate * clipping.norm, rel=1e-9)


def test_summarise_is_json_ready() -> None:
    numbers = exploding_math.run(TINY, figures=False).numbers
    assert json.loads(json.dumps(numbers)) == numbers
    flat = gw.experiments.flatten(numbers, "exploding_math")
    assert all(":" not in key for key in flat)
    assert flat["exploding_math.depth"] == 4
    assert flat["exploding_math.relu.s_high"] == 1.7
    assert len(flat["exploding_math.relu.measured"]) == len(TINY.scales)


def test_run_composes_the_steps(page: dict[str, Any]) -> None:
    result = exploding_math.run(page["settings"], figures=False)
    assert result.figures == {}
    assert result.numbers == page["numbers"]


def test_run_reports_progress() -> None:
    calls: list[tuple[str, int, int]] = []

    def progress(label: str, done: int, total: int) -> None:
        calls.append((label, done, total))

    exploding_math.run(TINY, progress, figures=False)
    assert calls == [
        *[("ReLU networks", i, 3) for i in (1, 2, 3)],
        *[("tanh networks", i, 3) for i in (1, 2, 3)],
        *[("sigmoid networks", i, 3) for i in (1, 2, 3)],
        ("clipping", 1, 1),
    ]


def test_run_draws_the_figure() -> None:
    pytest.importorskip("matplotlib")
    result = exploding_math.run(TINY)
    assert set(result.figures) == {"relu_scale"}
    ax = result.figures["relu_scale"].axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "ReLU networks, width 16"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["s = 1.2", "s = 1.41", "s = 1.7", "theory"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("depth", 0),
        ("width", -3),
        ("scales", []),
        ("scales", [0.0, 1.0]),
        ("scales", [1.0, 1.0]),
        ("scales", [1.0, 1e3]),  # 1e3 ** 20 = 1e60: the loss would overflow
        ("scales", [1e-5, 1.0]),  # (1e-5 / sqrt 2) ** 20 < 1e-100
        ("scales", [float("inf")]),
        ("seeds", []),
        ("seeds", [-1]),
        ("n_samples", 0),
        ("clip_threshold", 0.0),
        ("clip_threshold", -1.0),
        ("orthogonal_gain", 0.0),
        ("orthogonal_gain", 1e6),  # 1e6 ** 20 = 1e120
        ("learning_rate", 0.0),
        ("learning_rate", -0.01),
        ("scales", [1.0, 2.0]),  # tanh at s = 1 without bias: q* -> 0 too slowly, no prediction
    ],
)
def test_settings_reject_bad_values(key: str, value: object) -> None:
    with pytest.raises(gw.experiments.SettingError, match=rf"setting '{key}(\[\d+\])?'") as info:
        Settings(**{key: value})
    assert info.value.key.startswith(key)


def test_loading_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "exploding_math.toml"
    path.write_text('[experiment]\ntitle = "t"\n\n[settings]\nlearning_rate = -5\n', "utf-8")
    with pytest.raises(gw.experiments.SettingError) as info:
        gw.experiments.load(path)
    assert str(info.value) == f"{path}: setting 'learning_rate' = -5.0: expected a positive number"
