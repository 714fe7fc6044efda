"""The gates experiment (docs/gates.md, gradwatch.experiments.gates)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import SettingError, gates

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

CONF = Path(__file__).resolve().parents[1] / "conf" / "gates.toml"

#: Overrides for the page-against-command-line test: one seed instead of two. Every claim of
#: the page is checked per seed (counts against the number of seeds), and seed 0 alone keeps
#: them all; the runs at length 32 dominate, so this is about half the time.
SMALL: dict[str, Any] = {"task_seeds": [0]}

FIGURES = {"gradient_over_time", "spectra", "adding"}


def tiny(**overrides: Any) -> gates.Settings:
    """Settings that run in a fraction of a second (no claim of the page holds for them)."""
    fast = {
        "time_hidden": 4,
        "time_steps": 6,
        "time_samples": 3,
        "task_lengths": [4, 8],
        "task_hidden": 3,
        "task_train_samples": 16,
        "task_test_samples": 8,
        "task_steps": 3,
        "task_batch_size": 8,
        "task_seeds": [0, 1],
        "bptt_window": 4,
    }
    return dataclasses.replace(gates.Settings(), **{**fast, **overrides})


def test_conf_loads_as_the_default_settings() -> None:
    loaded = gw.experiments.load(CONF).settings
    assert loaded == gates.Settings()


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("time_hidden", 0, "time_hidden"),
        ("time_steps", 1, "time_steps"),
        ("time_samples", 0, "time_samples"),
        ("time_input_std", 0.0, "time_input_std"),
        ("time_seed", -1, "time_seed"),
        ("forget_biases", [], "forget_biases"),
        ("forget_biases", [1.0, math.nan], "forget_biases[1]"),
        ("forget_biases", [1.0, 1.0], "forget_biases"),
        ("task_lengths", [], "task_lengths"),
        ("task_lengths", [1, 8], "task_lengths[0]"),
        ("task_lengths", [16, 8], "task_lengths"),
        ("task_span", 0.0, "task_span"),
        ("task_span", 1.5, "task_span"),
        ("task_hidden", 0, "task_hidden"),
        ("task_forget_bias", math.inf, "task_forget_bias"),
        ("task_train_samples", 0, "task_train_samples"),
        ("task_test_samples", 0, "task_test_samples"),
        ("task_steps", -5, "task_steps"),
        ("task_batch_size", 0, "task_batch_size"),
        ("task_batch_size", 2048, "task_batch_size"),
        ("task_lr", 0.0, "task_lr"),
        ("task_max_norm", 0.0, "task_max_norm"),
        ("task_seeds", [-1], "task_seeds[0]"),
        ("task_seeds", [0, 0], "task_seeds"),
        ("task_success", 0.0, "task_success"),
        ("task_success", 1.0, "task_success"),
        ("bptt_window", 0, "bptt_window"),
        ("bptt_window", 32, "bptt_window"),
    ],
)
def test_settings_reject_bad_values(key: str, value: object, where: str) -> None:
    with pytest.raises(SettingError, match=re.escape(f"setting '{where}' = ")) as error:
        dataclasses.replace(gates.Settings(), **{key: value})
    assert error.value.key == where


def test_loading_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    text = CONF.read_text(encoding="utf-8").replace("task_steps = 180", "task_steps = -5")
    assert "task_steps = -5" in text
    path = tmp_path / "gates.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingError, match="setting 'task_steps' = -5: expected a positive"):
        gw.experiments.load(path)
    with pytest.raises(SettingError, match=re.escape(str(path))):
        gw.experiments.load(path)


def test_adding_problem_marks_two_early_steps_and_sums_them() -> None:
    x, y = gates.adding_problem(200, 20, 0.5, np.random.default_rng(0))
    assert x.shape == (200, 20, 2)
    assert y.shape == (200, 1)
    markers = x[:, :, 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert not markers[:, 10:].any()  # both in the first half
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * markers).sum(axis=1))
    assert x[:, :, 0].min() >= 0
    assert x[:, :, 0].max() < 1
    # Answering 1 has an error near the baseline 1/6.
    assert np.mean((y - 1.0) ** 2) == pytest.approx(gates.BASELINE_MSE, rel=0.2)
    # A span too short for two markers still marks two steps.
    x, _ = gates.adding_problem(5, 3, 0.1, np.random.default_rng(0))
    assert np.all(x[:, :2, 1].sum(axis=1) == 2)


def test_network_builds_each_kind_and_rejects_others() -> None:
    assert isinstance(gates.network("RNN", 2, 3, seed=0), gw.RNN)
    lstm = gates.network("LSTM", 2, 3, seed=0, forget_bias=2.0, bptt_steps=4)
    assert isinstance(lstm, gw.LSTM)
    assert lstm.bptt_steps == 4
    assert np.all(lstm.b_h[3:6] == 2.0)
    assert isinstance(gates.network("GRU", 2, 3, seed=0), gw.GRU)
    with pytest.raises(ValueError, match="kind"):
        gates.network("Transformer", 2, 3, seed=0)


def test_gradient_over_time_forget_bias_keeps_gradient() -> None:
    settings = dataclasses.replace(gates.Settings(), time_steps=30)
    profiles = gates.gradient_over_time(settings)
    assert list(profiles) == ["RNN", "LSTM, forget bias 0", "LSTM, forget bias 1", "GRU"]
    for label, profile in profiles.items():
        assert set(profile) == ({"h", "c"} if label.startswith("LSTM") else {"h"})
        assert all(v.shape == (30,) and v[0] == 1.0 for v in profile.values())
    low, high = profiles["LSTM, forget bias 0"], profiles["LSTM, forget bias 1"]
    assert high["c"][-1] > 100 * low["c"][-1]


def test_spectra_of_an_orthogonal_rnn_are_at_most_one() -> None:
    spectra = gates.jacobian_spectra(tiny())
    assert spectra["RNN"].max() <= 1 + 1e-12
    assert spectra["LSTM, forget bias 0"].size == 2 * spectra["RNN"].size  # state (h, c)


def test_sweeps_share_the_control_and_truncation_skips_short_lengths() -> None:
    settings = tiny()
    sweep = gates.length_sweep(settings)
    assert sweep.lengths == [4, 8]
    assert set(sweep.mse) == set(gates.KINDS)
    assert all(e.shape == (2, 2) for e in sweep.mse.values())
    assert set(sweep.trained) == set(gates.KINDS)
    # The networks kept are those of the first seed at the last length: same test error again.
    _, mse = gates.train_on_adding(settings, "GRU", 8, 0)
    assert mse == sweep.mse["GRU"][1, 0]
    truncated = gates.truncated_sweep(settings)
    assert truncated.lengths == [8]
    assert truncated.mse["GRU, last 4 steps"].shape == (1, 2)
    assert truncated.trained == {}


def test_solved_counts_runs_below_the_threshold() -> None:
    sweep = gates.Sweep([8, 16], {"RNN": np.array([[0.001, 0.05], [0.2, 0.3]])})
    assert sweep.solved(0.1)["RNN"].tolist() == [1, 0]
    assert sweep.solved(0.5)["RNN"].tolist() == [2, 0]


def test_run_gives_json_ready_numbers_and_the_figures() -> None:
    settings = tiny()
    calls: list[tuple[str, int, int]] = []
    result = gates.run(settings, lambda *call: calls.append(call))
    assert calls == [("adding problem", 1, 2), ("adding problem", 2, 2)]
    assert set(result.figures) == FIGURES
    assert all(isinstance(fig, Figure) for fig in result.figures.values())
    numbers = gates.run(settings, figures=False).numbers
    assert numbers == result.numbers
    assert json.loads(json.dumps(numbers, allow_nan=False)) == numbers
    assert numbers["task"]["lengths_text"] == "4 and 8"
    assert numbers["truncated"]["runs"] == 2
    assert numbers["time"]["lstm_low"]["bias"] == 0.0
    assert "gate" not in numbers["trained"]["rnn"]
    # Keys join into glue names: no dot or colon inside one.
    assert all(":" not in k for k in gw.experiments.flatten(numbers, "gates"))


def test_conf_run_reproduces_the_page_claims() -> None:
    settings = dataclasses.replace(gw.experiments.load(CONF).settings, **SMALL)
    numbers = gates.run(settings, figures=False).numbers
    task, trained = numbers["task"], numbers["trained"]
    assert task["rnn"]["solved"] == [1, 0, 0]
    assert task["gru"]["solved"] == [1, 1, 1]
    assert task["lstm"]["longest_solved"] > task["rnn"]["longest_solved"]
    assert numbers["truncated"]["solved_total"] == 0
    assert trained["gru"]["end_h"] > 5 * trained["rnn"]["end_h"]
