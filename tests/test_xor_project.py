"""Tests of the backpropagation and XOR-project helpers (experiments and plotting blocks)."""

from __future__ import annotations

import numpy as np
import pytest

import gradwatch as gw


@pytest.fixture(scope="module")
def xor_settings() -> dict[str, object]:
    return gw.experiments.load("project_xor").settings


@pytest.fixture(scope="module")
def backprop_settings() -> dict[str, object]:
    return gw.experiments.load("backpropagation").settings


class _SigmoidAppliedTwice(gw.activations.Sigmoid):
    def derivative_from_output(self, a: np.ndarray) -> np.ndarray:
        return super().derivative(a)


def test_xor_converges_with_conf_settings(xor_settings: dict[str, object]) -> None:
    x, y = gw.experiments.xor_data()
    net, history = gw.experiments.train_xor(xor_settings)
    predictions = net.forward(x)
    assert np.all((predictions > 0.5) == (y > 0.5)), predictions.ravel()
    assert history.steps == xor_settings["steps"]
    assert history.loss[-1] < 0.01 < history.loss[0]
    assert not history.diverged


def test_xor_data_is_xor() -> None:
    x, y = gw.experiments.xor_data()
    assert x.shape == (4, 2)
    assert y.shape == (4, 1)
    assert np.array_equal(y.ravel(), np.logical_xor(x[:, 0], x[:, 1]).astype(float))


def test_buggy_derivative_fails_gradcheck_and_correct_passes(
    xor_settings: dict[str, object],
) -> None:
    x, y = gw.experiments.xor_data()
    correct = gw.gradcheck(gw.experiments.xor_network(xor_settings), x, y)
    buggy_net = gw.experiments.xor_network(xor_settings, activation=_SigmoidAppliedTwice())
    buggy = gw.gradcheck(buggy_net, x, y)
    assert correct.passed
    assert not buggy.passed
    assert buggy.max_rel_error > 1e-2
    assert buggy.worst[0] in buggy_net.param_names()


def test_runner_bug_matches_the_page_bug() -> None:
    runner_bug = gw.experiments._sigmoid_applied_twice()
    a = np.linspace(0.0, 1.0, 11)
    expected = _SigmoidAppliedTwice().derivative_from_output(a)
    np.testing.assert_allclose(runner_bug.derivative_from_output(a), expected)
    assert isinstance(runner_bug, gw.activations.Sigmoid)
    # The forward pass is untouched: only the slope is wrong.
    np.testing.assert_array_equal(runner_bug(a), gw.activations.Sigmoid()(a))
    assert not np.allclose(expected, a * (1.0 - a))


def test_buggy_training_lags_behind(xor_settings: dict[str, object]) -> None:
    _, history = gw.experiments.train_xor(xor_settings)
    _, buggy = gw.experiments.train_xor(xor_settings, activation=_SigmoidAppliedTwice())
    assert buggy.loss[-1] > 10 * history.loss[-1]


@pytest.mark.parametrize("sizes", [[2, 3, 1], [3, 5, 4, 2]])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("loss", ["mse", "bce_with_logits"])
def test_column_backprop_equals_batch_backprop(
    sizes: list[int], activation: str, loss: str, rng: np.random.Generator
) -> None:
    net = gw.MLP(sizes, activation=activation, seed=3)
    x = rng.normal(size=(7, sizes[0]))
    y = rng.uniform(size=(7, sizes[-1]))
    _, batch = net.loss_and_grads(x, y, loss=loss)
    batch = [g.copy() for g in batch]
    columns = gw.experiments.column_backprop(net, x, y, loss=loss)
    assert [c.shape for c in columns] == [p.shape for p in net.params()]
    for b, c in zip(batch, columns, strict=True):
        np.testing.assert_allclose(c, b, rtol=1e-10, atol=1e-14)


def test_backprop_problem_is_deterministic(backprop_settings: dict[str, object]) -> None:
    net1, x1, y1 = gw.experiments.backprop_problem(backprop_settings)
    net2, x2, y2 = gw.experiments.backprop_problem(backprop_settings)
    assert np.array_equal(x1, x2)
    assert np.array_equal(y1, y2)
    for p1, p2 in zip(net1.params(), net2.params(), strict=True):
        assert np.array_equal(p1, p2)
    assert x1.shape == (backprop_settings["n_samples"], backprop_settings["sizes"][0])


def test_gradcheck_by_activation_passes_for_conf(backprop_settings: dict[str, object]) -> None:
    reports = gw.experiments.gradcheck_by_activation(backprop_settings)
    assert list(reports) == backprop_settings["activations"]
    assert all(r.passed for r in reports.values())


def test_runners_return_numbers_and_figures() -> None:
    result = gw.experiments.run("backpropagation")
    assert result.numbers["batch_vs_columns_max_abs_diff"] < 1e-12
    assert all(result.numbers["passed"].values())
    assert set(result.figures) == {"gradcheck_scatter"}
    result = gw.experiments.run("project_xor")
    numbers = result.numbers
    assert numbers["gradcheck_passed"] == {"correct": True, "buggy": False}
    assert numbers["buggy_final_loss"] > 10 * numbers["final_loss"]
    assert numbers["buggy_end_true_grad_norm"] > numbers["buggy_end_computed_grad_norm"]
    assert [p > 0.5 for p in numbers["predictions"]] == [False, True, True, False]
    assert set(result.figures) == {"xor_loss_curves", "xor_decision_boundary"}


def test_plotting_helpers_return_figures(xor_settings: dict[str, object]) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    x, y = gw.experiments.xor_data()
    net = gw.experiments.xor_network(xor_settings)
    report = gw.gradcheck(net, x, y)
    scatter = gw.plotting.gradcheck_scatter(report, title="check")
    assert isinstance(scatter, Figure)
    assert len(scatter.axes) == 2
    n_entries = sum(g.size for g in report.analytic.values())
    assert sum(len(line.get_xdata()) for line in scatter.axes[0].get_lines()) == n_entries + 2
    curves = gw.plotting.loss_curve({"a": [1.0, 0.5], "b": np.array([1.0, 0.1, 0.01])})
    assert isinstance(curves, Figure)
    assert [len(line.get_xdata()) for line in curves.axes[0].get_lines()] == [2, 3]
    single = gw.plotting.decision_boundary(net, x, y, resolution=21)
    assert isinstance(single, Figure)
    assert len(single.axes) == 2  # the map and its colour bar
    double = gw.plotting.decision_boundary({"one": net, "two": net}, x, y, resolution=21)
    assert [ax.get_title() for ax in double.axes[:2]] == ["one", "two"]


def test_decision_boundary_rejects_bad_x(xor_settings: dict[str, object]) -> None:
    net = gw.experiments.xor_network(xor_settings)
    with pytest.raises(ValueError, match=r"x must have shape \(n_samples, 2\)"):
        gw.plotting.decision_boundary(net, np.zeros((4, 3)), np.zeros(4))
