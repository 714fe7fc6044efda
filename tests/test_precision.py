"""The precision experiment: its steps, its settings and its run."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import precision
from gradwatch.experiments.precision import Settings

#: Smaller settings under which every claim of the page still holds.
SMALL: dict[str, Any] = {"steps": 150, "seeds": [0, 1]}


@pytest.fixture(scope="module")
def small() -> Settings:
    return dataclasses.replace(Settings(), **SMALL)


@pytest.fixture(scope="module")
def grads(small: Settings) -> precision.Gradients:
    return precision.gradients(small)


@pytest.fixture(scope="module")
def runs(small: Settings) -> dict[str, precision.Run]:
    return precision.train_all(small)


def test_the_conf_file_holds_the_defaults() -> None:
    assert gw.experiments.load("precision").settings == Settings()


def test_formats_follow_from_the_bits() -> None:
    for name, table in precision.formats().items():
        e, p = table["exponent_bits"], table["fraction_bits"]
        bias = 2 ** (e - 1) - 1
        assert table["max"] == (2 - 2.0**-p) * 2.0**bias, name
        assert table["smallest_normal"] == 2.0 ** (1 - bias)
        assert table["smallest_subnormal"] == 2.0 ** (1 - bias - p)
        assert table["eps"] == 2.0**-p
    assert precision.formats()["float16"]["max"] == 65504.0


def test_the_two_networks_share_their_weights() -> None:
    net16, net32 = precision.networks(Settings(depth=3), seed=4)
    assert net16.dtype == np.float16
    assert net32.dtype == np.float32
    for p16, p32 in zip(net16.params(), net32.params(), strict=True):
        np.testing.assert_array_equal(p16.astype(np.float32), p32)


def test_weight_gradients_are_unscaled_float32() -> None:
    settings = Settings(depth=2)
    _, net32 = precision.networks(settings, seed=0)
    x, y = precision.task(settings, seed=0)
    plain = precision.weight_gradients(net32, x[:16], y[:16])
    scaled = precision.weight_gradients(net32, x[:16], y[:16], scale=64.0)
    assert len(plain) == 3  # weight matrices only
    for a, b in zip(plain, scaled, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_underflow_is_worst_in_the_first_layers(grads: precision.Gradients) -> None:
    fractions = precision.underflow_fractions(grads, 1.0)
    assert fractions.shape == (2, 9)
    assert (fractions[:, 0] > 0.05).all()
    assert (fractions[:, -1] == 0).all()
    assert (precision.underflow_fractions(grads, 1024.0) < 0.01).all()
    errors = precision.relative_errors(grads, 1024.0)
    assert (errors < 0.01).all()
    assert precision.overflowed(grads, 1024.0) == [False, False]
    assert precision.overflowed(grads, 1048576.0) == [True, True]
    assert np.isinf(precision.relative_errors(grads, 1048576.0)).any()


def test_lost_updates_against_the_rounding_rule(
    small: Settings, grads: precision.Gradients
) -> None:
    lost = precision.lost_updates(small, grads)
    assert lost.shape == (2, 9)
    assert (lost[:, 0] > 0.9).all()
    assert (lost[:, -1] < 0.1).all()
    # by hand, for one weight: half an ulp of w in [0.5, 1) is 2^-12
    w = np.array([0.75], dtype=np.float16)
    assert (w.astype(np.float32) - 2.0**-13).astype(np.float16) == w
    assert (w.astype(np.float32) - 2.0**-11).astype(np.float16) != w


def test_training_runs(small: Settings, runs: dict[str, precision.Run]) -> None:
    assert list(runs) == list(precision.MODES)
    dynamic, unscaled, reference = runs["dynamic"], runs["unscaled"], runs["float32"]
    assert dynamic.scale[0] == small.init_scale
    assert (unscaled.scale == 1.0).all()
    assert reference.stepped.all()
    # every skipped step is followed by a halving; a growth only after growth_interval good steps
    for t in np.flatnonzero(~dynamic.stepped):
        if t + 1 < small.steps:
            assert dynamic.scale[t + 1] == dynamic.scale[t] / 2
    for t in np.flatnonzero(dynamic.scale[1:] > dynamic.scale[:-1]):
        assert dynamic.stepped[t + 1 - small.growth_interval : t + 1].all()
        assert dynamic.scale[t + 1] == 2 * dynamic.scale[t]
    assert unscaled.first_layer_zeros.mean() > 0.5
    assert dynamic.first_layer_zeros.mean() < 0.01


def test_the_claims_of_the_page(
    small: Settings, grads: precision.Gradients, runs: dict[str, precision.Run]
) -> None:
    numbers = precision.summarise(small, grads, precision.lost_updates(small, grads), runs)
    u, s = numbers["underflow"]["unscaled"], numbers["underflow"]["static"]
    assert u["first_min"] > 0.05
    assert u["last"] == 0.0
    assert u["error_first"] > 0.1
    assert s["max"] < 0.01
    assert s["error_max"] < 0.01
    assert numbers["static_overflows"] == 0
    assert numbers["large_overflows"] == numbers["n_seeds"] == 2
    assert numbers["lost"]["first_min"] > 0.9
    assert numbers["lost"]["last"] < 0.1
    t = numbers["train"]
    d = t["dynamic"]
    assert d["skipped"] >= 1
    assert d["growths"] >= 1
    assert d["first_skip"] >= 0
    assert d["scale_min"] < t["init_scale"] < d["scale_max"]
    assert abs(d["loss"] - t["float32"]["loss"]) < 0.01 * t["float32"]["loss"]
    assert t["unscaled"]["zeros"] > 0.5
    assert d["zeros"] < 0.01
    assert t["float32"]["skipped"] == 0
    assert t["float32"]["first_skip"] == -1
    flat = gw.experiments.flatten(numbers, "precision")
    assert all(isinstance(v, (int, float, str, list)) for v in flat.values())
    assert not any(":" in key for key in flat)


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown mode 'bfloat16'"):
        precision.train_run(Settings(depth=2, steps=1), "bfloat16")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("activation", "no_such"),
        ("n_in", 0),
        ("width", 0),
        ("depth", -1),
        ("n_samples", 0),
        ("batch_size", 0),
        ("batch_size", 1000),
        ("seeds", []),
        ("seeds", [-1]),
        ("seeds", [2, 2]),
        ("static_scale", 0.0),
        ("static_scale", 0.5),
        ("overflow_scale", 1024.0),
        ("lr", 0.0),
        ("momentum", -0.1),
        ("momentum", 1.0),
        ("steps", 0),
        ("init_scale", 0.0),
        ("init_scale", 1e39),
        ("growth_interval", 0),
    ],
)
def test_bad_settings_are_rejected(key: str, value: Any) -> None:
    with pytest.raises(gw.experiments.SettingError, match=f"setting '{key}"):
        Settings(**{key: value})


def test_a_bad_file_fails_at_load_naming_file_and_key(tmp_path: Path) -> None:
    text = (gw.experiments.conf_dir() / "precision.toml").read_text(encoding="utf-8")
    path = tmp_path / "precision.toml"
    path.write_text(text.replace("steps = 300", "steps = -5"), encoding="utf-8")
    expected = "precision.toml: setting 'steps' = -5: expected a positive number"
    with pytest.raises(gw.experiments.SettingError, match=re.escape(expected)):
        gw.experiments.load(path)


def test_run_gives_the_numbers_and_the_figures() -> None:
    quick = Settings(depth=2, seeds=[0], steps=3)
    calls: list[tuple[str, int, int]] = []
    result = precision.run(quick, lambda *args: calls.append(args), figures=False)
    assert calls == [
        ("gradients", 1, 1),
        ("training", 1, 3),
        ("training", 2, 3),
        ("training", 3, 3),
    ]
    assert result.figures == {}
    drawn = precision.run(quick)
    assert list(drawn.figures) == ["underflow", "scaling"]
    assert drawn.numbers == result.numbers
