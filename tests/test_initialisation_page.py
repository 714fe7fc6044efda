"""Helpers of the initialisation page: predicted variance factors against measurement."""

from __future__ import annotations

import numpy as np
import pytest

import gradwatch as gw


@pytest.mark.parametrize(
    ("activation", "variance", "expected"),
    [
        ("tanh", 1 / 100, 1.0),
        ("relu", 2 / 100, 1.0),
        ("relu", 1 / 100, 0.5),
        ("identity", 0.02, 2.0),
    ],
)
def test_variance_gains_closed_forms(activation, variance, expected):
    assert gw.diagnostics.variance_gains(activation, 100, 100, variance) == (expected, expected)


def test_variance_gains_uses_each_fan():
    forward, backward = gw.diagnostics.variance_gains("tanh", 100, 400, 1 / 100)
    assert forward == 1.0
    assert backward == 4.0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("sigmoid", 4, 4, 0.1), "activation"),
        (("tanh", 0, 4, 0.1), "n_in"),
        (("tanh", 4, True, 0.1), "n_out"),
        (("tanh", 4, 4, 0.0), "weight_variance"),
        (("tanh", 4, 4, float("nan")), "weight_variance"),
    ],
)
def test_variance_gains_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        gw.diagnostics.variance_gains(*args)


def test_initialisations_labels_and_scale():
    inits = gw.diagnostics.initialisations(0.05)
    assert list(inits) == ["N(0, 0.05²)", "Xavier", "He"]
    W = gw.init.get(inits["N(0, 0.05²)"])((400, 400), rng=0)
    assert abs(float(W.std()) - 0.05) < 0.002
    with pytest.raises(ValueError, match="naive_std"):
        gw.diagnostics.initialisations(-1.0)


@pytest.fixture(scope="module")
def stats():
    inits = gw.diagnostics.initialisations(0.01)
    return gw.diagnostics.init_statistics(["tanh", "relu"], inits, width=200, depth=6, seed=1)


def test_init_statistics_shapes(stats):
    s = stats["relu"]["He"]
    assert len(s.activations) == len(s.gradients) == 6
    assert s.activations[0].shape == (256, 200)
    assert s.act_var.shape == s.grad_var.shape == (6,)
    assert s.act_ratios.shape == s.grad_ratios.shape == (5,)
    assert np.all(s.activations[2] >= 0)


@pytest.mark.parametrize(
    ("activation", "label"),
    [("tanh", "N(0, 0.01²)"), ("relu", "N(0, 0.01²)"), ("relu", "Xavier"), ("relu", "He")],
)
def test_measured_factor_matches_prediction(stats, activation, label):
    variance = {"N(0, 0.01²)": 1e-4, "Xavier": 1 / 200, "He": 2 / 200}[label]
    predicted, _ = gw.diagnostics.variance_gains(activation, 200, 200, variance)
    s = stats[activation][label]
    forward = gw.theory.fit_per_layer_factor(s.act_var / s.act_var[0])
    backward = gw.theory.fit_per_layer_factor(s.grad_var[::-1] / s.grad_var[-1])
    assert forward == pytest.approx(predicted, rel=0.15)
    assert backward == pytest.approx(predicted, rel=0.15)


def test_init_statistics_is_deterministic():
    inits = {"He": "he_normal"}
    a = gw.diagnostics.init_statistics(["relu"], inits, width=16, depth=3, seed=4)
    b = gw.diagnostics.init_statistics(["relu"], inits, width=16, depth=3, seed=4)
    assert np.array_equal(a["relu"]["He"].act_var, b["relu"]["He"].act_var)
    with pytest.raises(ValueError, match="depth"):
        gw.diagnostics.init_statistics(["relu"], inits, width=16, depth=1)


def test_init_training_naive_stalls_and_he_learns():
    inits = gw.diagnostics.initialisations(0.01)
    runs = gw.diagnostics.init_training(
        ["relu"], inits, width=32, depth=6, n_samples=128, steps=120, batch_size=32, lr=0.01
    )
    assert list(runs) == ["relu, N(0, 0.01²)", "relu, Xavier", "relu, He"]
    naive, he = runs["relu, N(0, 0.01²)"], runs["relu, He"]
    assert naive.steps == he.steps == 120
    assert np.mean(naive.loss[-10:]) > 0.5 * naive.loss[0]
    assert np.mean(he.loss[-10:]) < 0.2 * np.mean(naive.loss[-10:])


def test_initialisation_experiment_settings_load():
    experiment = gw.experiments.load("initialisation")
    assert experiment.kind == "initialisation"
    assert experiment.settings["naive_std"] > 0
