"""The XOR project: training, the sigmoid bug, its gradient checks, settings and run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch.experiments import project_xor
from gradwatch.experiments.project_xor import Settings, SigmoidAppliedTwice

#: The page's claims need the full 1000 steps of conf/project_xor.toml, which take 0.2 s.
SMALL: dict[str, Any] = {}


@pytest.fixture(scope="module")
def settings() -> Settings:
    loaded = gw.experiments.load("project_xor").settings
    assert isinstance(loaded, Settings)
    return dataclasses.replace(loaded, **SMALL)


def test_xor_data_is_xor() -> None:
    x, y = project_xor.xor_data()
    assert x.shape == (4, 2)
    assert y.shape == (4, 1)
    assert np.array_equal(y.ravel(), np.logical_xor(x[:, 0], x[:, 1]).astype(float))


def test_network_uses_one_activation_everywhere(settings: Settings) -> None:
    net = project_xor.network(settings)
    assert net.sizes == settings.sizes
    assert [layer.activation.name for layer in net.layers] == ["sigmoid", "sigmoid"]
    buggy = project_xor.network(settings, activation=SigmoidAppliedTwice())
    assert all(isinstance(layer.activation, SigmoidAppliedTwice) for layer in buggy.layers)
    for p, q in zip(net.params(), buggy.params(), strict=True):
        assert np.array_equal(p, q)  # same initial weights


def test_xor_converges_with_conf_settings(settings: Settings) -> None:
    x, y = project_xor.xor_data()
    net, history = project_xor.train(settings)
    predictions = net.forward(x)
    assert np.all((predictions > 0.5) == (y > 0.5)), predictions.ravel()
    assert history.steps == settings.steps
    assert history.loss[-1] < 0.01 < history.loss[0]
    assert abs(history.loss[0] - 0.25) < 0.05
    assert not history.diverged


def test_bug_changes_only_the_slope() -> None:
    bug, sigmoid = SigmoidAppliedTwice(), gw.activations.Sigmoid()
    a = np.linspace(0.0, 1.0, 101)
    np.testing.assert_array_equal(bug(a), sigmoid(a))
    np.testing.assert_allclose(bug.derivative_from_output(a), sigmoid.derivative(a))
    assert not np.allclose(bug.derivative_from_output(a), a * (1.0 - a))
    slope = bug.derivative_from_output(a)
    assert np.isclose(slope.max(), 0.25)  # sigma'(0), at a = 0
    assert np.isclose(slope.min(), sigmoid.derivative(np.array([1.0]))[0])  # sigma'(1), at a = 1


def test_buggy_training_lags_behind(settings: Settings) -> None:
    _, history = project_xor.train(settings)
    _, buggy = project_xor.train(settings, activation=SigmoidAppliedTwice())
    assert buggy.loss[-1] > 10 * history.loss[-1]
    below = int(np.argmax(history.loss < 0.1))
    assert history.loss[below] < 0.1
    assert buggy.loss[below] > 0.2


def test_check_untrained_catches_the_bug(settings: Settings) -> None:
    reports = project_xor.check_untrained(settings)
    assert list(reports) == ["correct", "buggy"]
    assert reports["correct"].passed
    assert not reports["buggy"].passed
    assert reports["buggy"].max_rel_error > 1e4 * reports["correct"].max_rel_error
    assert min(reports["buggy"].rel_errors.values()) > 0.01
    errors = reports["buggy"].rel_errors
    assert errors["layers[0].W"] > errors["layers[1].W"]


def test_gradient_norms_agree_without_bug_and_not_with_it(settings: Settings) -> None:
    computed, true = project_xor.gradient_norms(project_xor.network(settings), settings)
    assert computed == pytest.approx(true, rel=1e-6)
    buggy_net, _ = project_xor.train(settings, activation=SigmoidAppliedTwice())
    computed, true = project_xor.gradient_norms(buggy_net, settings)
    assert true > 2 * computed


def test_the_article_network_is_plain_numpy_and_its_slope_is_the_bug() -> None:
    source = Path(project_xor.__file__).read_text(encoding="utf-8")
    start = source.index("def sigmoid(z: Array)")
    article = source[start : source.index("def solve_from_scratch")]
    assert "gradwatch" not in article
    assert "gw." not in article
    body = source[source.index("class ArticleNetwork") : source.index("class CorrectedNetwork")]
    corrected = source[source.index("class CorrectedNetwork") : source.index("def solve_from")]
    assert len(body.splitlines()) < 40
    assert len(corrected.splitlines()) < 40
    a = np.array([0.0, 0.5, 1.0])
    x, y = project_xor.xor_data()
    buggy = project_xor.ArticleNetwork(x, y, np.random.default_rng(0))
    fixed = project_xor.CorrectedNetwork(x, y, np.random.default_rng(0))
    np.testing.assert_allclose(fixed.slope(a), [0.0, 0.25, 0.0])
    np.testing.assert_allclose(buggy.slope(a), project_xor.sigmoid_derivative(a))
    np.testing.assert_array_equal(buggy.weights1, fixed.weights1)  # the same initial weights
    assert np.all((buggy.weights1 >= 0) & (buggy.weights1 < 1))


def test_the_corrected_backprop_is_the_gradient_of_the_summed_squared_error() -> None:
    x, y = project_xor.xor_data()
    net = project_xor.CorrectedNetwork(x, y, np.random.default_rng(3))

    def loss(w1: np.ndarray, w2: np.ndarray) -> float:
        out = project_xor.sigmoid(project_xor.sigmoid(x @ w1) @ w2)
        return float(np.sum((y - out) ** 2))

    w1, w2 = net.weights1.copy(), net.weights2.copy()
    net.feedforward()
    net.backprop()  # weights += -gradient, learning rate 1
    step1 = net.weights1 - w1
    eps = 1e-6
    for i, j in np.ndindex(*w1.shape):
        bumped = w1.copy()
        bumped[i, j] += eps
        lowered = w1.copy()
        lowered[i, j] -= eps
        numeric = (loss(bumped, w2) - loss(lowered, w2)) / (2 * eps)
        assert step1[i, j] == pytest.approx(-numeric, rel=1e-6, abs=1e-9)


def test_solve_from_scratch_reports_the_first_solving_step() -> None:
    solved_at, losses = project_xor.solve_from_scratch(project_xor.CorrectedNetwork, 0, 400)
    assert solved_at is not None
    assert losses.shape == (401,)
    assert losses[-1] < losses[0]
    never, _ = project_xor.solve_from_scratch(project_xor.ArticleNetwork, 0, 50)
    assert never is None


def test_summarise_markdown_and_predictions(settings: Settings) -> None:
    numbers = project_xor.run(settings, figures=False).numbers
    assert list(numbers["predictions"]) == ["p0", "p1", "p2", "p3"]
    assert [p > 0.5 for p in numbers["predictions"].values()] == [False, True, True, False]
    assert numbers["worst"].startswith("`layers[")
    assert numbers["worst"].endswith("]`")
    assert numbers["buggy_rel_errors"].count("`layers[") == 4
    assert numbers["buggy_confidence"] < numbers["correct_confidence"]
    assert 0 <= numbers["buggy_right"] <= 4
    assert numbers["buggy_right_text"].endswith("four points")
    scratch = numbers["scratch"]
    assert scratch["corrected"]["within"] == scratch["n_seeds"] == len(settings.scratch_seeds)
    assert scratch["article"]["within"] < scratch["n_seeds"] // 2
    assert scratch["slowdown"] > 2
    assert numbers["loss_ratio"] == pytest.approx(
        numbers["buggy_final_loss"] / numbers["final_loss"]
    )
    assert (numbers["steps"], numbers["lr"], numbers["rtol"]) == (
        settings.steps,
        settings.lr,
        settings.rtol,
    )


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"sizes": [2, 0, 1]}, "sizes[1]"),
        ({"sizes": [3, 4, 1]}, "sizes"),
        ({"sizes": [2, 4, 2]}, "sizes"),
        ({"sizes": [2]}, "sizes"),
        ({"activation": "sigmod"}, "activation"),
        ({"loss": "l1"}, "loss"),
        ({"lr": -0.5}, "lr"),
        ({"lr": 0.0}, "lr"),  # SGD refuses it; it used to fail mid-run
        ({"steps": 0}, "steps"),
        ({"seed": -1}, "seed"),
        ({"eps": 0.0}, "eps"),
        ({"rtol": 0.0}, "rtol"),
        ({"scratch_seeds": []}, "scratch_seeds"),
        ({"scratch_seeds": [0, -1]}, "scratch_seeds[1]"),
        ({"scratch_steps": 0}, "scratch_steps"),
        ({"scratch_budget": 0}, "scratch_budget"),
        ({"scratch_budget": 5000}, "scratch_budget"),
    ],
)
def test_settings_reject_bad_values(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(gw.experiments.SettingError) as error:
        dataclasses.replace(Settings(), **changes)
    assert error.value.key == key


def test_load_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "project_xor.toml"
    path.write_text("[settings]\nsteps = -5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"project_xor\.toml: setting 'steps' = -5"):
        gw.experiments.load(path)


def test_conf_file_matches_the_defaults() -> None:
    assert gw.experiments.load("project_xor").settings == Settings()


def test_run_numbers_and_figures() -> None:
    small = Settings(steps=30)
    calls: list[tuple[str, int, int]] = []
    result = project_xor.run(
        small, lambda label, done, total: calls.append((label, done, total)), figures=False
    )
    assert calls == [("training", 1, 2), ("training", 2, 2)]
    assert result.figures == {}
    assert result.numbers["passed"] == {"correct": True, "buggy": False}
    pytest.importorskip("matplotlib")
    drawn = project_xor.run(small)
    assert set(drawn.figures) == {"xor_loss_curves", "xor_decision_boundary"}
    assert drawn.numbers == result.numbers
    curves = drawn.figures["xor_loss_curves"]
    assert [len(line.get_xdata()) for line in curves.axes[0].get_lines()] == [30, 30]
    boundary = drawn.figures["xor_decision_boundary"]
    assert [ax.get_title() for ax in boundary.axes[:2]] == [
        "correct sigmoid'",
        "sigmoid' applied twice",
    ]


def test_decision_boundary_single_panel_and_bad_x(settings: Settings) -> None:
    pytest.importorskip("matplotlib")
    net = project_xor.network(settings)
    x, y = project_xor.xor_data()
    single = project_xor.figure_decision_boundary(net, x, y, resolution=21)
    assert len(single.axes) == 2  # the map and its colour bar
    with pytest.raises(ValueError, match=r"x must have shape \(n_samples, 2\)"):
        project_xor.figure_decision_boundary(net, np.zeros((4, 3)), np.zeros(4))
