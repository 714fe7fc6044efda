"""Tests of the plotting helpers of the background and concepts pages."""

from __future__ import annotations

import numpy as np
import pytest

import gradwatch as gw

Figure = pytest.importorskip("matplotlib.figure").Figure


def test_descent_paths_draws_one_panel_per_path() -> None:
    bowl = gw.landscape.quadratic([1.0, 10.0], angle=0.5)
    start, lrs = [-4.0, -1.4], [0.01, 0.15, 0.21]
    runs = gw.landscape.learning_rate_sweep(bowl, bowl.grad, start, lrs, steps=50, tol=1e-3)
    fig = gw.plotting.descent_paths(
        bowl, {run.describe(): run.path for run in runs}, minimum=bowl.minimum
    )
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    for ax, run in zip(fig.axes, runs, strict=True):
        assert len(ax.lines) == 3  # the path, its start, the minimum
        np.testing.assert_allclose(ax.lines[0].get_xydata(), run.path)
        assert ax.get_title() == run.describe()
        assert ax.collections  # the contours
    # The default extent frames the converging runs and the minimum, not the diverging one.
    x_low, x_high = fig.axes[0].get_xlim()
    assert x_low < -4.0
    assert x_high > 0.0
    assert x_high - x_low < 10.0
    fig.canvas.draw()


def test_descent_paths_without_minimum_and_with_an_extent() -> None:
    bowl = gw.landscape.quadratic([1.0, 2.0])
    path = gw.landscape.descent_path(bowl.grad, [1.0, 1.0], 0.1, 5)
    fig = gw.plotting.descent_paths(bowl, {"a": path}, extent=(-2.0, 2.0, -1.0, 1.0))
    (ax,) = fig.axes
    assert len(ax.lines) == 2
    assert ax.get_xlim() == (-2.0, 2.0)
    assert ax.get_ylim() == (-1.0, 1.0)


def test_descent_paths_rejects_bad_paths() -> None:
    bowl = gw.landscape.quadratic([1.0, 2.0])
    with pytest.raises(ValueError, match="at least one path"):
        gw.plotting.descent_paths(bowl, {})
    with pytest.raises(ValueError, match="shape"):
        gw.plotting.descent_paths(bowl, {"bad": np.zeros((4, 3))})


def test_activation_grid_has_a_panel_per_activation() -> None:
    names = gw.activations.names()
    fig = gw.plotting.activation_grid(z_min=-3.0, z_max=3.0, n_points=61)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == list(names)
    z = np.linspace(-3.0, 3.0, 61)
    for ax, name in zip(fig.axes, names, strict=True):
        assert len(ax.lines) == 3  # zero line, g, g'
        act = gw.activations.get(name)
        np.testing.assert_allclose(ax.lines[1].get_ydata(), act(z))
        np.testing.assert_allclose(ax.lines[2].get_ydata(), act.derivative(z))
    fig.canvas.draw()


def test_activation_grid_subset_and_errors() -> None:
    fig = gw.plotting.activation_grid(["tanh", "relu", "sigmoid"], ncols=2)
    assert len(fig.axes) == 3  # the unused fourth panel is removed
    with pytest.raises(ValueError, match="names"):
        gw.plotting.activation_grid([])
    with pytest.raises(ValueError, match="z_max"):
        gw.plotting.activation_grid(z_min=1.0, z_max=0.0)
    with pytest.raises(ValueError, match="n_points"):
        gw.plotting.activation_grid(n_points=1)
