"""The optimisers experiment: its steps, its settings and its run."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import optimisers
from gradwatch.experiments.optimisers import Settings
from gradwatch.training import History

#: Smaller settings under which every claim of the page still holds.
SMALL: dict[str, Any] = {"steps": 120, "seeds": [0, 1], "spike_warmup": 1000}


@pytest.fixture(scope="module")
def small() -> Settings:
    return dataclasses.replace(Settings(), **SMALL)


@pytest.fixture(scope="module")
def runs(small: Settings) -> dict[str, list[History]]:
    return optimisers.train_all(small)


@pytest.fixture(scope="module")
def clipped(small: Settings) -> dict[str, list[History]]:
    return optimisers.train_clipped(small)


@pytest.fixture(scope="module")
def numbers(
    small: Settings, runs: dict[str, list[History]], clipped: dict[str, list[History]]
) -> dict[str, Any]:
    return optimisers.summarise(
        small,
        runs,
        clipped,
        optimisers.first_steps(small),
        optimisers.first_step_cosines(small),
        optimisers.spike(small),
    )


def test_the_conf_file_holds_the_defaults() -> None:
    assert gw.experiments.load("optimisers").settings == Settings()


def test_every_optimiser_of_a_seed_starts_from_the_same_network_and_data() -> None:
    settings = Settings(depth=3, width=8)
    a, b = optimisers.network(settings, 1), optimisers.network(settings, 1)
    for p, q in zip(a.params(), b.params(), strict=True):
        np.testing.assert_array_equal(p, q)
    assert float(np.std(optimisers.network(Settings(), 0).layers[3].W)) == pytest.approx(
        0.05, rel=0.1
    )
    x1, y1 = optimisers.task(settings, 2)
    x2, y2 = optimisers.task(settings, 2)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, optimisers.task(settings, 3)[0])


def test_optimisers_have_the_settings_learning_rates() -> None:
    settings = Settings(lr_sgd=0.2, momentum=0.5, lr_rmsprop=0.003, lr_adam=0.004)
    sgd = optimisers.optimiser(settings, "sgd")
    momentum = optimisers.optimiser(settings, "momentum")
    assert isinstance(sgd, gw.optim.SGD)
    assert (sgd.lr, sgd.momentum) == (0.2, 0.0)
    assert isinstance(momentum, gw.optim.SGD)
    assert (momentum.lr, momentum.momentum) == (0.2, 0.5)
    assert optimisers.optimiser(settings, "rmsprop").lr == 0.003
    assert optimisers.optimiser(settings, "adam").lr == 0.004
    with pytest.raises(ValueError, match="unknown optimiser 'adagrad'"):
        optimisers.optimiser(settings, "adagrad")


def test_runs_have_one_history_per_seed(small: Settings, runs: dict[str, list[History]]) -> None:
    assert list(runs) == list(optimisers.OPTIMISERS)
    for histories in runs.values():
        assert len(histories) == len(small.seeds)
        assert histories[0].update_ratios.shape == (small.steps, small.depth + 1)
    # same network and batches: the first loss is the same for every optimiser
    firsts = {name: histories[0].loss[0] for name, histories in runs.items()}
    assert len(set(firsts.values())) == 1


def test_layer_ratios_spreads_and_losses() -> None:
    run = History(
        loss=np.arange(30.0),
        update_ratios=np.array([[1e-6, 1e-3], [3e-6, 2e-3], [2e-6, 4e-3]]),
    )
    np.testing.assert_allclose(optimisers.layer_ratios([run]), [[2e-6, 2e-3]])
    np.testing.assert_allclose(optimisers.spreads([run]), [1000.0])
    np.testing.assert_allclose(optimisers.final_losses([run]), [24.5])


def test_clip_factors_and_update_change() -> None:
    run = History(grad_norm=np.array([0.01, 0.04]))
    np.testing.assert_allclose(optimisers.clip_factors(run, 0.02), [1.0, 0.5])
    a = History(update_ratios=np.array([[1.0, 2.0, 4.0], [1.0, 1.0, 1.0]]))
    b = History(update_ratios=np.array([[2.0, 2.0, 2.0], [4.0, 4.0, 4.0]]))
    np.testing.assert_allclose(optimisers.update_change(a, b), [1.0, 0.25])


def test_first_steps_against_the_formulas() -> None:
    settings = Settings(gradient_scales=[1e-10, 1e-8, 1.0, 1e3])
    steps = optimisers.first_steps(settings)
    g = np.array(settings.gradient_scales)
    np.testing.assert_allclose(steps["sgd"], g)
    np.testing.assert_allclose(steps["adam"], g / (g + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(steps["rmsprop"], g / (math.sqrt(0.01) * g + 1e-8), rtol=1e-12)


def test_first_step_cosine_is_l1_over_sqrt_n_l2() -> None:
    settings = Settings(depth=3, width=8, seeds=[0])
    net = optimisers.network(settings, 0)
    x, y = optimisers.task(settings, 0)
    _, grads = net.loss_and_grads(x, y)
    g = np.concatenate([gi.ravel() for gi in grads])
    g = g[g != 0]
    expected = np.abs(g).sum() / (math.sqrt(g.size) * np.linalg.norm(g))
    cosine = optimisers.first_step_cosines(settings)[0]
    assert cosine == pytest.approx(expected, rel=1e-3)


def test_spike_is_bounded_then_stalls() -> None:
    settings = Settings(spike=1e4, spike_warmup=3000, spike_after=100)
    steps = optimisers.spike(settings)
    assert steps.shape == (3101,)
    assert steps[2999] == pytest.approx(1.0, abs=1e-6)
    assert 2.5 < steps[3000] <= 0.1 / math.sqrt(0.001)
    # about lr / (sqrt(1 - beta2) K beta2^(k/2)) once the spike has left m
    k = 100
    assert steps[-1] == pytest.approx(1 / (math.sqrt(0.001) * 1e4 * 0.999 ** (k / 2)), rel=0.1)


def test_the_claims_of_the_page(numbers: dict[str, Any]) -> None:
    for name in ("sgd", "momentum"):
        assert numbers[name]["spread_min"] > 500
    for name in ("rmsprop", "adam"):
        assert numbers[name]["spread_max"] < 10
    assert numbers["adam"]["first"] > 1000 * numbers["sgd"]["first"]
    worst_sgd = min(numbers["sgd"]["loss_min"], numbers["momentum"]["loss_min"])
    for name in ("rmsprop", "adam"):
        assert numbers[name]["loss_max"] < 0.9 * worst_sgd
        assert numbers[name]["loss"] < 0.7 * numbers["sgd"]["loss"]
    fs = numbers["first_step"]
    assert 0.98 < fs["adam_min"] <= fs["adam_max"] <= 1.0
    assert fs["adam_at_eps"] == pytest.approx(0.5)
    assert numbers["cosine_max"] < 0.2
    sp = numbers["spike"]
    assert 2.0 < sp["at"] <= sp["bound"] * 1.001
    assert sp["after"] < 0.01
    cs, ca = numbers["clip"]["sgd"], numbers["clip"]["adam"]
    assert cs["clipped"] > 0.5
    assert ca["clipped"] > 0.5
    assert cs["factor"] < 0.5
    assert ca["factor"] < 0.5
    assert abs(cs["change"] / cs["factor"] - 1) < 0.25
    assert 0.5 < ca["change"] < 2.0
    assert ca["change"] > 4 * ca["factor"]
    flat = gw.experiments.flatten(numbers, "optimisers")
    assert all(isinstance(v, (int, float, str, list)) for v in flat.values())
    assert not any(":" in key for key in flat)


def test_adam_is_invariant_to_a_constant_rescale_of_the_gradients() -> None:
    # the derivation of the page: m -> c m, v -> c^2 v, the step is unchanged (up to eps)
    rng = np.random.default_rng(0)
    gradients = [rng.normal(size=5) for _ in range(20)]
    w1, w2 = np.zeros(5), np.zeros(5)
    opt1, opt2 = gw.optim.Adam(lr=0.01, eps=1e-12), gw.optim.Adam(lr=0.01, eps=1e-12)
    for g in gradients:
        opt1.step([w1], [g])
        opt2.step([w2], [1e-3 * g])
    np.testing.assert_allclose(w1, w2, rtol=1e-6)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("activation", "no_such"),
        ("n_in", 0),
        ("width", 0),
        ("depth", -1),
        ("init_std", 0.0),
        ("n_samples", 0),
        ("batch_size", 0),
        ("batch_size", 1000),
        ("steps", 0),
        ("seeds", []),
        ("seeds", [-1]),
        ("seeds", [1, 1]),
        ("lr_sgd", 0.0),
        ("momentum", -0.1),
        ("momentum", 1.0),
        ("lr_rmsprop", -1.0),
        ("lr_adam", 0.0),
        ("max_norm", 0.0),
        ("gradient_scales", [0.0]),
        ("gradient_scales", [1.0, 1.0]),
        ("spike", 0.5),
        ("spike_warmup", 0),
        ("spike_after", 0),
    ],
)
def test_bad_settings_are_rejected(key: str, value: Any) -> None:
    with pytest.raises(gw.experiments.SettingError, match=f"setting '{key}"):
        Settings(**{key: value})


def test_a_bad_file_fails_at_load_naming_file_and_key(tmp_path: Path) -> None:
    text = (gw.experiments.conf_dir() / "optimisers.toml").read_text(encoding="utf-8")
    path = tmp_path / "optimisers.toml"
    path.write_text(text.replace("steps = 200", "steps = -5"), encoding="utf-8")
    expected = "optimisers.toml: setting 'steps' = -5: expected a positive number"
    with pytest.raises(gw.experiments.SettingError, match=re.escape(expected)):
        gw.experiments.load(path)


def test_run_gives_the_numbers_and_the_figures() -> None:
    quick = Settings(depth=3, width=8, steps=5, seeds=[0], spike_warmup=10, spike_after=5)
    calls: list[tuple[str, int, int]] = []
    result = optimisers.run(quick, lambda *args: calls.append(args), figures=False)
    assert calls[-1] == ("clipped", 2, 2)
    assert ("optimisers", 4, 4) in calls
    assert result.figures == {}
    assert result.numbers["n_seeds"] == 1
    drawn = optimisers.run(quick)
    assert list(drawn.figures) == ["update_ratios", "losses", "first_steps", "clipping"]
    assert drawn.numbers == result.numbers
