"""The normalisation experiment: its steps, its settings and its run."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import _common, normalisation
from gradwatch.experiments.normalisation import Settings

#: Smaller settings under which every claim of the page still holds.
SMALL: dict[str, Any] = {"n_batches": 250, "n_samples": 256, "steps": 120, "seeds": [0, 1]}


@pytest.fixture(scope="module")
def small() -> Settings:
    return dataclasses.replace(Settings(), **SMALL)


@pytest.fixture(scope="module")
def numbers(small: Settings) -> dict[str, Any]:
    return normalisation.run(small, figures=False).numbers


def test_the_conf_file_holds_the_defaults() -> None:
    assert gw.experiments.load("normalisation").settings == Settings()


def test_naive_gradient_is_wrong_and_the_librarys_right() -> None:
    errors = normalisation.gradient_check(Settings())
    for key in ("batch", "layer"):
        assert errors[key]["library"] < 1e-7
        assert errors[key]["naive"] > 0.1


def test_finite_differences_of_a_linear_layer_are_its_weights() -> None:
    dense = gw.Dense(3, 2, "identity", rng=0)
    x = np.ones((1, 3))
    dy = np.array([[1.0, 0.0]])
    grad = normalisation.finite_difference_input_gradient(dense, x, dy, 1e-6)
    np.testing.assert_allclose(grad[0], dense.W[:, 0], atol=1e-8)


def test_scale_invariance_divides_the_gradient_by_c() -> None:
    result = normalisation.scale_invariance(Settings(scales=[2.0, 5.0]))
    np.testing.assert_allclose(result["scale"] * result["grad_ratio"], 1.0, atol=1e-3)
    assert np.all(result["output_change"] < 1e-3)
    assert np.all(result["alignment"] < 1e-2)


def test_batches_of_two_give_plus_or_minus_one() -> None:
    result = normalisation.small_batches(Settings(batch_sizes=[2], n_batches=50))
    assert float(result["pair_within"]) > 0.9
    assert result["predicted"].tolist() == [math.sqrt(0.75)]


def test_build_keeps_the_dense_weights_across_norms() -> None:
    plain = normalisation.build(Settings(), None, 3)
    batch = normalisation.build(Settings(), "batch", 3)
    assert np.array_equal(plain.params()[0], batch.params()[0])
    assert float(np.std(plain.params()[0])) == pytest.approx(0.3 / 4, rel=0.1)


def test_layer_values_match_the_networks_own_forward_pass() -> None:
    quick = Settings(depth=3, width=8, n_samples=32, batch_size=16)
    x, y = _common.sine_task(quick.n_samples, quick.n_in, 0)
    net = normalisation.build(quick, None, 0)
    values = normalisation.layer_values(net, x, y)
    trace = gw.diagnostics.trace(net, x, y)
    for a, b in zip(values.activations, trace.a[:-1], strict=True):
        np.testing.assert_allclose(a, b)
    for g, da in zip(values.gradients, trace.da[1:-1], strict=True):
        np.testing.assert_allclose(g, da)


def test_the_claims_of_the_page(numbers: dict[str, Any]) -> None:
    plain, batch = numbers["nets"]["plain"], numbers["nets"]["batch"]
    assert not plain["diverged"]
    assert not batch["diverged"]
    assert plain["depth_ratio_max"] < 1e-3 < 1 < batch["depth_ratio_min"] < 10
    assert plain["update_first"] < 1e-4 < batch["update_first"]
    assert batch["loss_last_max"] < plain["loss_last_min"] / 5
    assert abs(batch["saturation_percent"] - numbers["predicted_saturation_percent"]) < 1
    large = numbers["large"]
    assert large["plain_saturation_percent"] > 25 > 5 > large["batch_saturation_percent"]
    assert large["batch_difference"] < 1e-2
    b = numbers["batches"]
    assert b["max_error_percent"] < 10
    assert b["pair_within_percent"] > 90
    flat = gw.experiments.flatten(numbers, "normalisation")
    assert all(isinstance(v, (int, float, str, list)) for v in flat.values())
    assert not any(":" in key for key in flat)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("check_samples", 1),
        ("check_features", 0),
        ("step", 0.0),
        ("scales", [0.0]),
        ("batch_sizes", [1]),
        ("n_batches", 0),
        ("n_in", 0),
        ("width", 0),
        ("depth", 0),
        ("weight_scale", -1.0),
        ("large_scale", 0.0),
        ("n_samples", 1),
        ("lr", -0.1),
        ("lr", 0.0),  # SGD refuses it; it used to fail mid-run
        ("momentum", 1.0),
        ("steps", -5),
        ("batch_size", 1),
        ("batch_size", 10_000),
        ("seeds", []),
        ("seeds", [-1]),
    ],
)
def test_bad_settings_are_rejected(key: str, value: Any) -> None:
    with pytest.raises(gw.experiments.SettingError, match=re.escape(f"setting '{key}")):
        Settings(**{key: value})


def test_a_bad_file_fails_at_load_naming_file_and_key(tmp_path: Path) -> None:
    text = (gw.experiments.conf_dir() / "normalisation.toml").read_text(encoding="utf-8")
    path = tmp_path / "normalisation.toml"
    path.write_text(text.replace("steps = 150", "steps = -5"), encoding="utf-8")
    expected = "normalisation.toml: setting 'steps' = -5: expected a positive number"
    with pytest.raises(gw.experiments.SettingError, match=re.escape(expected)):
        gw.experiments.load(path)


def test_run_gives_the_numbers_and_the_figures() -> None:
    quick = Settings(
        depth=3, width=16, n_samples=64, steps=3, batch_size=32, seeds=[0], n_batches=10
    )
    calls: list[tuple[str, int, int]] = []
    result = normalisation.run(quick, lambda *args: calls.append(args), figures=False)
    assert calls[-1] == ("normalisation", 3, 3)
    assert result.figures == {}
    assert sorted(result.numbers["nets"]) == ["batch", "plain"]
    drawn = normalisation.run(quick)
    assert list(drawn.figures) == ["small_batches", "diagnosis"]
    assert drawn.figures["diagnosis"].axes[0].get_title() == "without BatchNorm: activations"
