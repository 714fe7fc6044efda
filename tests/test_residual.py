"""The residual experiment (docs/residual.md): settings, steps, numbers and figures."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import SettingError, residual

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

CONF = Path(__file__).resolve().parents[1] / "conf" / "residual.toml"

#: Overrides for the page-against-command-line test: none. The page runs in about 8 s, most of
#: it training at 200 blocks, the depth where the plain network stops training (at 100 blocks
#: it still fits the target); the gradient measurements take about a second.
SMALL: dict[str, Any] = {}

#: A tiny setting for the tests of the steps.
FAST = residual.Settings(depths=[2, 6], seeds=[0, 1], width=16, steps=5, train_depth=4)


# --- settings ---------------------------------------------------------------------------------


def test_defaults_equal_the_conf() -> None:
    assert gw.experiments.load(CONF).settings == residual.Settings()


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("n_in", 2, "n_in"),
        ("width", 0, "width"),
        ("depths", [], "depths"),
        ("depths", [10, 0], "depths[1]"),
        ("depths", [50, 10], "depths"),
        ("seeds", [], "seeds"),
        ("seeds", [-1], "seeds[0]"),
        ("n_samples", 1, "n_samples"),
        ("train_depth", 0, "train_depth"),
        ("train_width", -3, "train_width"),
        ("n_train", 0, "n_train"),
        ("batch_size", 1, "batch_size"),
        ("batch_size", 300, "batch_size"),
        ("steps", 0, "steps"),
        ("lr", -0.1, "lr"),
        ("lr", math.inf, "lr"),
    ],
)
def test_settings_reject_bad_values(key: str, value: object, where: str) -> None:
    with pytest.raises(SettingError, match=re.escape(f"setting '{where}' = ")) as error:
        dataclasses.replace(residual.Settings(), **{key: value})
    assert error.value.key == where


def test_loading_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    text = CONF.read_text(encoding="utf-8").replace("steps = 150", "steps = -5")
    assert "steps = -5" in text
    path = tmp_path / "residual.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingError, match="setting 'steps' = -5: expected a positive number"):
        gw.experiments.load(path)
    with pytest.raises(SettingError, match=str(path).replace("\\", r"\\")):
        gw.experiments.load(path)


# --- the steps --------------------------------------------------------------------------------


def test_every_variant_has_the_same_dense_weights() -> None:
    nets = {v: residual.network(FAST, v, depth=3, seed=4) for v in residual.VARIANTS}
    first = {v: net.params()[0] for v, net in nets.items()}  # the first W of every variant
    for W in first.values():
        np.testing.assert_array_equal(W, first["plain"])
    assert all(len(net.layers) == 5 for net in nets.values())
    assert nets["residual_scaled"].layers[2].scale == pytest.approx(1 / math.sqrt(3))
    with pytest.raises(SettingError, match="variant"):
        residual.network(FAST, "wide", depth=3, seed=0)


def test_block_gradient_norms_match_the_networks_backward() -> None:
    net = residual.network(FAST, "residual_layer", depth=3, seed=0)
    rng = np.random.default_rng(0)
    x, dy = rng.normal(size=(8, 4)), rng.normal(size=(8, 1))
    norms = residual.block_gradient_norms(net, x, dy)
    net.forward(x)
    grad = dy
    for block in reversed(net.layers[1:]):
        grad = block.backward(grad)
    assert norms[0] == pytest.approx(float(np.linalg.norm(grad)), rel=1e-13)
    assert norms[-1] == pytest.approx(float(np.linalg.norm(dy)), rel=1e-15)


def test_linear_residual_ratio_equals_the_matrix_product() -> None:
    """With identity-free ReLU replaced by the exact product: the ratio is ||g P|| / ||g||."""
    net = residual.network(FAST, "residual_zero", depth=2, seed=0)
    rng = np.random.default_rng(1)
    x, dy = rng.normal(size=(5, 4)), rng.normal(size=(5, 1))
    norms = residual.block_gradient_norms(net, x, dy)
    np.testing.assert_allclose(norms[:3], norms[2], rtol=1e-15)  # identity blocks


def test_predictions() -> None:
    predicted = residual.predicted_ratios([1, 4, 100])
    np.testing.assert_allclose(predicted["residual"], [2**0.5, 4.0, 2.0**50], rtol=1e-14)
    np.testing.assert_allclose(predicted["plain"], 1.0)
    assert np.all(predicted["residual_scaled"] < math.exp(0.5))
    np.testing.assert_allclose(
        predicted["residual_layer"] ** 2, 1 + np.array([1, 4, 100]) / (1 - 1 / math.pi)
    )


def test_measured_ratios_follow_the_predictions_in_small_networks() -> None:
    settings = dataclasses.replace(FAST, width=64, depths=[4, 16], seeds=[0, 1, 2])
    ratios = residual.measure_ratios(settings)
    predicted = residual.predicted_ratios(settings.depths)
    mean = {k: np.exp(np.log(v).mean(axis=1)) for k, v in ratios.items()}
    np.testing.assert_array_equal(ratios["residual_zero"], 1.0)
    for variant in ("residual", "residual_scaled", "residual_layer"):
        np.testing.assert_allclose(mean[variant], predicted[variant], rtol=0.5)
    assert mean["residual"][1] > 10 * mean["residual_layer"][1]


def test_train_run_records_every_step_and_uses_the_same_batches() -> None:
    x, y = residual.problem(FAST)
    runs = [
        residual.train_run(FAST, residual.network(FAST, "plain", 3, seed=0), x, y) for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].loss, runs[1].loss)
    assert runs[0].steps == FAST.steps
    assert np.all(runs[0].grad_norm > 0)


def test_a_diverging_run_stops() -> None:
    settings = dataclasses.replace(FAST, lr=1e6, steps=50)
    x, y = residual.problem(settings)
    history = residual.train_run(settings, residual.network(settings, "residual", 40, 0), x, y)
    assert history.diverged
    assert history.steps < 50


# --- run --------------------------------------------------------------------------------------


def test_run_returns_the_numbers_and_the_figures() -> None:
    result = residual.run(FAST)
    assert set(result.figures) == {"residual_depth", "residual_training"}
    assert all(isinstance(fig, Figure) for fig in result.figures.values())
    numbers = result.numbers
    assert numbers == residual.run(FAST, figures=False).numbers
    assert set(numbers["ratio"]) == set(residual.VARIANTS)
    assert set(numbers["final"]) == set(residual.TRAINED)
    assert numbers["zero_init_ratio"] == 1.0
    assert numbers["max_depth"] == 6
    assert len(numbers["ratio"]["plain"]) == 2
    flat = gw.experiments.flatten(numbers, "residual")
    assert all(":" not in key for key in flat)
