"""Every figure of every experiment is readable at the site's column width.

A figure is shown at most ``gw.plotting.PAGE_WIDTH_PX`` wide; its smallest text must then be at
least ``gw.plotting.MIN_TEXT_PX`` high. Each experiment runs with the overrides ``SMALL`` of its
test module (the figures' layout does not depend on how long the runs are).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import pytest

import gradwatch as gw

pytest.importorskip("matplotlib")
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def small_overrides(name: str) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(f"_figures_{name}", TESTS / f"test_{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.SMALL)


@pytest.mark.parametrize("name", gw.experiments.names())
def test_every_figure_is_readable_at_the_page_width(name: str) -> None:
    loaded = gw.experiments.load(ROOT / "conf" / f"{name}.toml")
    settings = dataclasses.replace(loaded.settings, **small_overrides(name))
    figures = gw.experiments.module(name).run(settings).figures
    assert figures
    for stem, fig in figures.items():
        px = gw.plotting.smallest_text_px(fig)
        assert px >= gw.plotting.MIN_TEXT_PX, f"{name}/{stem}: smallest text {px:.1f} px"


def test_readable_enlarges_only_what_is_too_small() -> None:
    fig, ax = gw.plotting.figure(width=10.0, height=3.0)
    small = ax.set_xlabel("small", fontsize=6)
    large = ax.set_ylabel("large", fontsize=14)
    assert gw.plotting.smallest_text_px(fig) < gw.plotting.MIN_TEXT_PX
    gw.plotting.readable(fig)
    assert gw.plotting.smallest_text_px(fig) >= gw.plotting.MIN_TEXT_PX
    assert small.get_fontsize() > 6
    assert large.get_fontsize() == 14


def test_readable_enlarges_the_tick_labels_a_draw_makes() -> None:
    # readable finds the tick labels of a figure never drawn; a later draw makes more of them
    # (from the laid-out axes) and they must be enlarged too, on a linear and a log axis.
    def wide_figure() -> Any:
        fig, axes = gw.plotting.figure(1, 2, width=14.0, height=3.0)
        axes[0].plot([0.0, 1.0], [0.0, 2.0])
        axes[1].semilogy([1.0, 2.0, 3.0], [1e-6, 1e-2, 1e3])
        return fig

    assert gw.plotting.smallest_text_px(wide_figure()) < gw.plotting.MIN_TEXT_PX
    fig = gw.plotting.readable(wide_figure())
    assert gw.plotting.smallest_text_px(fig) >= gw.plotting.MIN_TEXT_PX


@pytest.mark.parametrize(
    ("draw", "name"),
    [
        (lambda data: gw.plotting.line_by_layer(data, ylabel="y"), "series"),
        (gw.plotting.norms_against_depth, "measured"),
        (gw.plotting.training_curves, "histories"),
        (lambda data: gw.plotting.lines_with_range(gw.plotting.figure()[1], data), "series"),
    ],
    ids=["line_by_layer", "norms_against_depth", "training_curves", "lines_with_range"],
)
def test_plots_refuse_nothing_to_draw(draw: Any, name: str) -> None:
    # An empty mapping drew an empty figure with a matplotlib warning; None failed deep inside.
    with pytest.raises(ValueError, match=f"{name} is empty: there is nothing to draw"):
        draw({})
    with pytest.raises(TypeError, match=f"{name} must be a mapping of labels to values, got list"):
        draw([[1.0, 2.0]])
