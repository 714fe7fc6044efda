"""Tests of gradwatch.landscape: quadratic bowls and gradient descent over them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradwatch as gw


def test_quadratic_hessian_has_the_given_curvatures() -> None:
    bowl = gw.landscape.quadratic([2.0, 7.0], angle=0.3)
    np.testing.assert_allclose(bowl.eigenvalues, [2.0, 7.0])
    np.testing.assert_allclose(bowl.hessian, bowl.hessian.T)
    assert bowl.max_stable_lr == pytest.approx(2.0 / 7.0)
    assert bowl.condition_number == pytest.approx(3.5)


def test_quadratic_value_and_gradient_at_known_points() -> None:
    bowl = gw.landscape.quadratic([1.0, 4.0], minimum=[1.0, -1.0])
    assert float(bowl([1.0, -1.0])) == 0.0
    assert float(bowl([2.0, -1.0])) == pytest.approx(0.5)
    assert float(bowl([1.0, 0.0])) == pytest.approx(2.0)
    np.testing.assert_allclose(bowl.grad([2.0, 0.0]), [1.0, 4.0])


def test_quadratic_works_on_a_grid_of_points() -> None:
    bowl = gw.landscape.quadratic([1.0, 3.0], angle=1.0)
    grid = np.random.default_rng(0).normal(size=(5, 4, 2))
    values = bowl(grid)
    assert values.shape == (5, 4)
    expected = [[float(bowl(point)) for point in row] for row in grid]
    np.testing.assert_allclose(values, expected)
    assert bowl.grad(grid).shape == (5, 4, 2)


def test_quadratic_gradient_matches_finite_differences() -> None:
    bowl = gw.landscape.quadratic([0.5, 9.0], angle=-0.7, minimum=[0.3, 0.2])
    w = np.array([1.1, -0.4])
    eps = 1e-6
    numeric = [(float(bowl(w + eps * e)) - float(bowl(w - eps * e))) / (2 * eps) for e in np.eye(2)]
    np.testing.assert_allclose(bowl.grad(w), numeric, rtol=1e-7)


def test_quadratic_in_three_dimensions() -> None:
    bowl = gw.landscape.quadratic([1.0, 2.0, 3.0])
    np.testing.assert_allclose(bowl.hessian, np.diag([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="angle"):
        gw.landscape.quadratic([1.0, 2.0, 3.0], angle=0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"curvatures": [1.0, 0.0]}, "curvatures"),
        ({"curvatures": [1.0, float("nan")]}, "curvatures"),
        ({"curvatures": []}, "curvatures"),
        ({"curvatures": [1.0, 2.0], "minimum": [0.0]}, "minimum"),
        ({"curvatures": [1.0, 2.0], "angle": float("inf")}, "angle"),
    ],
)
def test_quadratic_rejects_bad_input(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        gw.landscape.quadratic(**kwargs)  # type: ignore[arg-type]


def test_quadratic_rejects_points_of_the_wrong_dimension() -> None:
    bowl = gw.landscape.quadratic([1.0, 2.0])
    with pytest.raises(ValueError, match=r"w must have shape \(\.\.\., 2\)"):
        bowl([1.0, 2.0, 3.0])


def test_descent_path_matches_the_closed_form_on_a_quadratic() -> None:
    bowl = gw.landscape.quadratic([1.0, 10.0], angle=0.4, minimum=[0.5, -0.5])
    start = np.array([-3.0, 2.0])
    lr = 0.12
    path = gw.landscape.descent_path(bowl.grad, start, lr, 30)
    assert path.shape == (31, 2)
    step = np.eye(2) - lr * bowl.hessian
    for t in (0, 1, 7, 30):
        expected = bowl.minimum + np.linalg.matrix_power(step, t) @ (start - bowl.minimum)
        np.testing.assert_allclose(path[t], expected, atol=1e-12)


@given(st.floats(min_value=0.2, max_value=1.9), st.floats(min_value=2.1, max_value=3.5))
def test_descent_converges_below_two_over_lambda_max_and_diverges_above(
    stable: float, unstable: float
) -> None:
    bowl = gw.landscape.quadratic([1.0, 4.0], angle=0.2)
    lam = float(bowl.eigenvalues[-1])
    start = [1.0, 1.0]
    good = gw.landscape.descent_path(bowl.grad, start, stable / lam, 400)
    bad = gw.landscape.descent_path(bowl.grad, start, unstable / lam, 400)
    assert float(bowl(good[-1])) < 1e-6 * float(bowl(good[0]))
    assert float(bowl(bad[-1])) > float(bowl(bad[0]))


def test_descent_path_stops_early_when_it_diverges() -> None:
    path = gw.landscape.descent_path(lambda w: 2.0 * w, [1.0], lr=2.0, steps=1000, limit=1e3)
    assert path.shape[0] < 1001
    assert abs(path[-1, 0]) > 1e3
    assert np.all(np.abs(path[:-1, 0]) <= 1e3)


def test_descent_path_with_zero_steps_is_the_start() -> None:
    path = gw.landscape.descent_path(lambda w: w, [1.0, 2.0], lr=0.1, steps=0)
    np.testing.assert_array_equal(path, [[1.0, 2.0]])


@pytest.mark.parametrize(
    ("start", "lr", "steps", "error", "match"),
    [
        ([1.0, float("nan")], 0.1, 5, ValueError, "start"),
        ([[1.0, 2.0]], 0.1, 5, ValueError, "start"),
        ([1.0, 2.0], 0.0, 5, ValueError, "lr"),
        ([1.0, 2.0], -1.0, 5, ValueError, "lr"),
        ([1.0, 2.0], 0.1, -1, ValueError, "steps"),
        ([1.0, 2.0], 0.1, 2.5, TypeError, "steps"),
    ],
)
def test_descent_path_rejects_bad_input(
    start: list[object], lr: float, steps: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        gw.landscape.descent_path(lambda w: w, start, lr, steps)  # type: ignore[arg-type]


def test_descent_path_checks_the_gradient_shape() -> None:
    with pytest.raises(ValueError, match="grad_fn returned shape"):
        gw.landscape.descent_path(lambda w: np.zeros(3), [1.0, 2.0], 0.1, 3)


def test_steps_to_tolerance() -> None:
    assert gw.landscape.steps_to_tolerance([3.0, 2.0, 1.0], 1.0) == 2
    assert gw.landscape.steps_to_tolerance([0.5, 2.0], 1.0) == 0
    assert gw.landscape.steps_to_tolerance([3.0, 2.0], 1.0) is None
    with pytest.raises(ValueError, match="tol"):
        gw.landscape.steps_to_tolerance([1.0], 0.0)
    with pytest.raises(ValueError, match="losses"):
        gw.landscape.steps_to_tolerance([[1.0]], 0.5)


def test_learning_rate_sweep_on_an_ill_conditioned_bowl() -> None:
    bowl = gw.landscape.quadratic([1.0, 10.0], angle=0.5)
    runs = gw.landscape.learning_rate_sweep(
        bowl, bowl.grad, [-4.0, -1.4], [0.01, 0.15, 0.21], steps=50, tol=1e-3
    )
    small, good, large = runs
    assert [run.lr for run in runs] == [0.01, 0.15, 0.21]
    assert small.steps_to_tol is None
    assert not small.diverged
    assert small.final_loss < small.losses[0]
    assert good.steps_to_tol is not None
    assert good.steps_to_tol < 50
    assert good.final_loss <= 1e-3
    assert large.diverged
    assert large.steps_to_tol is None
    for run in runs:
        np.testing.assert_allclose(run.losses, bowl(run.path))
    # Along the steep direction the error is multiplied by |1 - lr * lambda_max| per step.
    steep = np.linalg.eigh(bowl.hessian)[1][:, -1]
    growth = abs(large.path[-1] @ steep) / abs(large.path[-2] @ steep)
    assert growth == pytest.approx(abs(1 - 0.21 * 10.0), rel=1e-9)


def test_describe_summarises_each_outcome() -> None:
    bowl = gw.landscape.quadratic([1.0])
    slow, fast, wild = gw.landscape.learning_rate_sweep(
        bowl, bowl.grad, [1.0], [0.001, 0.5, 3.0], steps=10, tol=1e-3
    )
    assert slow.describe() == "η = 0.001\ntolerance not reached in 10 steps"
    assert fast.describe().endswith(f"tolerance in {fast.steps_to_tol} steps")
    assert wild.describe() == "η = 3\ndiverges"
    assert math.isfinite(wild.final_loss)


def test_learning_rate_sweep_rejects_bad_input() -> None:
    bowl = gw.landscape.quadratic([1.0, 2.0])
    with pytest.raises(ValueError, match="lrs"):
        gw.landscape.learning_rate_sweep(bowl, bowl.grad, [1.0, 1.0], [], steps=5, tol=1e-3)
    with pytest.raises(ValueError, match="tol"):
        gw.landscape.learning_rate_sweep(bowl, bowl.grad, [1.0, 1.0], [0.1], steps=5, tol=-1.0)
