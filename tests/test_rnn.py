"""The recurrent network (BPTT against finite differences), and the rnn experiment."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradwatch as gw
from gradwatch.experiments import SettingError
from gradwatch.experiments import rnn as rnn_experiment

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    n_in=st.integers(1, 4),
    n_hidden=st.integers(1, 6),
    n_out=st.integers(1, 3),
    n_steps=st.integers(1, 8),
    n_samples=st.integers(1, 4),
    radius=st.sampled_from([0.5, 1.0, 1.5]),
    return_sequences=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_bptt_matches_finite_differences(
    n_in, n_hidden, n_out, n_steps, n_samples, radius, return_sequences, seed
):
    rng = np.random.default_rng(seed)
    rnn = gw.RNN(
        n_in,
        n_hidden,
        n_out,
        return_sequences=return_sequences,
        spectral_radius=radius,
        recurrent_init="normal",
        seed=seed,
    )
    x = rng.normal(size=(n_samples, n_steps, n_in))
    shape = (n_samples, n_steps, n_out) if return_sequences else (n_samples, n_out)
    y = rng.normal(size=shape)
    report = gw.gradcheck(rnn, x, y)
    assert report.max_rel_error < 1e-6, report


def test_dx_matches_finite_differences():
    rng = np.random.default_rng(0)
    rnn = gw.RNN(2, 5, 1, seed=3)
    x = rng.normal(size=(3, 4, 2))
    y = rng.normal(size=(3, 1))
    loss = gw.losses.get("mse")
    rnn.forward(x)
    dx = rnn.backward(loss.grad(rnn.forward(x), y))
    eps = 1e-6
    numeric = np.empty_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (loss(rnn.forward(up), y) - loss(rnn.forward(down), y)) / (2 * eps)
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-9)


def test_spectral_radius_is_set_exactly():
    rnn = gw.RNN(3, 16, 1, spectral_radius=1.3, recurrent_init="normal", seed=0)
    assert np.max(np.abs(np.linalg.eigvals(rnn.W_hh))) == pytest.approx(1.3)


def test_hidden_gradients_vanish_below_and_grow_above_radius_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 40, 2)) * 0.01  # small inputs: tanh stays near its linear regime
    for radius, shrinks in ((0.7, True), (1.3, False)):
        rnn = gw.RNN(2, 32, 1, spectral_radius=radius, seed=1, recurrent_init="orthogonal")
        rnn.loss_and_grads(x, np.ones((8, 1)))
        norms = rnn.hidden_grad_norms
        assert norms.shape == (40,)
        if shrinks:
            assert norms[0] < 1e-4 * norms[-1]
        else:
            assert norms[0] > 10 * norms[-1]


def test_params_are_the_arrays_themselves_and_float32_stays_float32():
    rnn = gw.RNN(2, 3, 1, dtype=np.float32)
    rnn.params()[1][0, 0] = 5.0
    assert rnn.W_hh[0, 0] == 5.0
    _, grads = rnn.loss_and_grads(np.ones((2, 3, 2)), np.zeros((2, 1)))
    assert all(g.dtype == np.float32 for g in grads)
    assert rnn.forward(np.ones((2, 3, 2))).dtype == np.float32


def test_train_accepts_sequences_and_learns():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5, 1))
    y = x.sum(axis=1)  # the sum of the sequence
    rnn = gw.RNN(1, 8, 1, seed=0)
    history = gw.train(rnn, x, y, optimizer=gw.optim.Adam(lr=0.02), steps=150, seed=0)
    assert history.loss[-1] < 0.1 * history.loss[0]
    assert history.layer_grad_norms.shape == (150, 3)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: gw.RNN(0, 3, 1), ValueError, "n_in"),
        (lambda: gw.RNN(2, 3, 1, spectral_radius=-1.0), ValueError, "spectral_radius"),
        (lambda: gw.RNN(2, 3, 1).forward(np.ones((2, 3))), ValueError, "n_steps"),
        (lambda: gw.RNN(2, 3, 1).forward(np.ones((2, 3, 4))), ValueError, "n_steps, 2"),
        (lambda: gw.RNN(2, 3, 1).backward(np.ones((2, 1))), RuntimeError, "before forward"),
        (lambda: gw.RNN(2, 3, 1, dtype=np.int64), TypeError, "dtype"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_backward_with_wrong_shape():
    rnn = gw.RNN(2, 3, 1)
    rnn.forward(np.ones((2, 4, 2)))
    with pytest.raises(ValueError, match="dy has shape"):
        rnn.backward(np.ones((2, 4, 1)))


# =============================================================================================
# The rnn experiment (docs/rnn.md, gradwatch.experiments.rnn): gradient through time, the cliff,
# training with and without clipping.
# =============================================================================================

CONF = Path(__file__).resolve().parents[1] / "conf" / "rnn.toml"

#: Overrides for the page-against-command-line test. The experiment runs in under a second,
#: and the page quotes the cliff's h_0, T and y and asserts the training task's length and
#: threshold, so none of the settings is changed.
SMALL: dict[str, Any] = {}

FIGURES = {"gradient_over_time", "cliff", "training"}


def small_settings(**overrides: Any) -> rnn_experiment.Settings:
    """The conf's settings with a short descent and a short, small training run."""
    fast = {
        "cliff_descent_steps": 10,
        "train_hidden": 8,
        "train_steps_in_time": 10,
        "train_samples": 32,
        "train_steps": 20,
        "train_batch_size": 16,
        "train_max_norm": 0.5,
        "train_seeds": [0, 1],
    }
    return dataclasses.replace(rnn_experiment.Settings(), **{**fast, **overrides})


@pytest.fixture(scope="module")
def conf_settings() -> rnn_experiment.Settings:
    loaded = gw.experiments.load(CONF).settings
    assert isinstance(loaded, rnn_experiment.Settings)
    return loaded


def test_rnn_conf_loads_as_settings(conf_settings: rnn_experiment.Settings) -> None:
    assert conf_settings == rnn_experiment.Settings()
    assert conf_settings.train_radius > 1


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("radii", [], "radii"),
        ("radii", [0.5, -1.0, 1.5], "radii[1]"),
        ("radii", [1.1, 1.2], "radii"),
        ("radii", [0.8, 0.9], "radii"),
        ("time_hidden", 0, "time_hidden"),
        ("time_steps", 1, "time_steps"),
        ("time_samples", 0, "time_samples"),
        ("time_input_std", -1.0, "time_input_std"),
        ("time_seed", -1, "time_seed"),
        ("cliff_h0", math.nan, "cliff_h0"),
        ("cliff_target", math.inf, "cliff_target"),
        ("cliff_steps", 0, "cliff_steps"),
        ("cliff_start", [1.0], "cliff_start"),
        ("cliff_start", [1.0, math.inf], "cliff_start[1]"),
        ("cliff_lr", 0.0, "cliff_lr"),
        ("cliff_descent_steps", -5, "cliff_descent_steps"),
        ("cliff_max_norm", 0.0, "cliff_max_norm"),
        ("cliff_extent", [0.0, 3.5, -4.6], "cliff_extent"),
        ("cliff_extent", [3.5, 0.0, -4.6, 1.0], "cliff_extent"),
        ("train_hidden", 0, "train_hidden"),
        ("train_steps_in_time", 0, "train_steps_in_time"),
        ("train_samples", 0, "train_samples"),
        ("train_radius", 0.0, "train_radius"),
        ("train_lr", -0.1, "train_lr"),
        ("train_steps", 0, "train_steps"),
        ("train_batch_size", 0, "train_batch_size"),
        ("train_batch_size", 129, "train_batch_size"),
        ("train_max_norm", 0.0, "train_max_norm"),
        ("train_seed", -1, "train_seed"),
        ("train_seed", 7, "train_seed"),
        ("train_seeds", [], "train_seeds"),
        ("train_seeds", [0, 0], "train_seeds"),
        ("train_lrs", [0.1, 0.0], "train_lrs[1]"),
        ("train_lrs", [0.01, 0.03], "train_lr"),
    ],
)
def test_rnn_settings_reject_bad_values(key: str, value: object, where: str) -> None:
    with pytest.raises(SettingError, match=re.escape(f"setting '{where}' = ")) as error:
        dataclasses.replace(rnn_experiment.Settings(), **{key: value})
    assert error.value.key == where


def test_rnn_loading_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    text = CONF.read_text(encoding="utf-8").replace("train_steps = 150", "train_steps = -5")
    assert "train_steps = -5" in text
    path = tmp_path / "rnn.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingError, match="setting 'train_steps' = -5: expected a positive"):
        gw.experiments.load(path)
    with pytest.raises(SettingError, match=re.escape(str(path))):
        gw.experiments.load(path)


def test_gradient_norms_follow_the_spectral_radius() -> None:
    settings = small_settings(radii=[0.7, 1.0, 1.3], time_hidden=16, time_steps=12)
    settings = dataclasses.replace(settings, time_input_std=1e-4)
    norms = rnn_experiment.gradient_norms_over_time(settings)
    factors = rnn_experiment.per_step_factors(norms)
    assert list(norms) == [0.7, 1.0, 1.3]
    for r, v in norms.items():
        assert v.shape == (12,)
        assert v[0] == 1.0
        assert factors[r] == pytest.approx(r, rel=0.01)


def test_gradient_norms_vanish_when_tanh_saturates() -> None:
    # Large inputs push tanh into its tails: even r slightly above 1 gives shrinking gradients.
    settings = small_settings(radii=[0.9, 1.1], time_hidden=16, time_steps=20, time_input_std=3.0)
    norms = rnn_experiment.gradient_norms_over_time(settings)
    assert norms[1.1][-1] < 1.0


@pytest.mark.parametrize(
    ("w", "b", "h0", "n_steps"), [(0.7, 0.1, 0.3, 5), (2.5, 0.2, -0.5, 30), (-1.5, -0.3, 0.9, 12)]
)
def test_one_unit_derivatives_match_finite_differences(
    w: float, b: float, h0: float, n_steps: int
) -> None:
    one_unit = functools.partial(rnn_experiment.one_unit_rnn, h0=h0, n_steps=n_steps)
    _, dw, db = one_unit(w, b)
    eps = 1e-6
    hw, hw_ = one_unit(w + eps, b)[0], one_unit(w - eps, b)[0]
    hb, hb_ = one_unit(w, b + eps)[0], one_unit(w, b - eps)[0]
    assert float(dw) == pytest.approx(float(hw - hw_) / (2 * eps), rel=1e-5, abs=1e-8)
    assert float(db) == pytest.approx(float(hb - hb_) / (2 * eps), rel=1e-5, abs=1e-8)


def test_one_unit_loss_and_grad_broadcast_over_a_grid() -> None:
    grid = np.stack(np.meshgrid(np.linspace(0, 3, 5), np.linspace(-1, 1, 4)), axis=-1)
    kwargs: dict[str, Any] = {"h0": -0.5, "n_steps": 10, "target": -0.5}
    loss = rnn_experiment.one_unit_loss(grid, **kwargs)
    grad = rnn_experiment.one_unit_grad(grid, **kwargs)
    assert loss.shape == (4, 5)
    assert grad.shape == (4, 5, 2)
    point = grid[2, 3]
    assert float(loss[2, 3]) == float(rnn_experiment.one_unit_loss(point, **kwargs))
    eps = 1e-6
    numeric = [
        float(
            rnn_experiment.one_unit_loss(point + eps * e, **kwargs)
            - rnn_experiment.one_unit_loss(point - eps * e, **kwargs)
        )
        / (2 * eps)
        for e in np.eye(2)
    ]
    assert np.allclose(grad[2, 3], numeric, rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError, match="params"):
        rnn_experiment.one_unit_loss(np.zeros(3), **kwargs)
    with pytest.raises(ValueError, match="n_steps"):
        rnn_experiment.one_unit_rnn(1.0, 0.0, h0=0.0, n_steps=0)


def test_cliff_loss_is_the_one_unit_loss_of_the_settings(
    conf_settings: rnn_experiment.Settings,
) -> None:
    loss = rnn_experiment.cliff_loss(conf_settings)
    point = np.array([2.0, -1.0])
    h, _, _ = rnn_experiment.one_unit_rnn(2.0, -1.0, h0=-0.5, n_steps=30)
    assert float(loss(point)) == pytest.approx(float((h + 0.5) ** 2), rel=1e-12)


def test_cliff_descent_clipped_steps_are_bounded(conf_settings: rnn_experiment.Settings) -> None:
    plain, plain_G = rnn_experiment.cliff_descent(conf_settings)
    clipped, clipped_G = rnn_experiment.cliff_descent(conf_settings, max_norm=0.5)
    n_points = conf_settings.cliff_descent_steps + 1
    assert plain.shape == clipped.shape == (n_points, 2)
    assert plain_G.shape == clipped_G.shape == (n_points,)
    np.testing.assert_array_equal(plain[0], conf_settings.cliff_start)
    steps = np.linalg.norm(np.diff(clipped, axis=0), axis=1)
    assert steps.max() <= conf_settings.cliff_lr * 0.5 + 1e-12
    # The unclipped run meets a gradient far above the clipped step's bound and jumps.
    assert plain_G.max() > 20
    assert np.linalg.norm(np.diff(plain, axis=0), axis=1).max() > 2.0


def test_training_comparison_runs_share_a_start() -> None:
    settings = small_settings(train_radius=1.5)
    runs = rnn_experiment.training_comparison(settings)
    assert list(runs.plain) == settings.train_lrs
    assert list(runs.clipped) == list(runs.matched) == settings.train_seeds
    for seed in settings.train_seeds:
        plain, clipped = runs.plain[settings.train_lr][seed].history, runs.clipped[seed].history
        matched = runs.matched[seed].history
        assert plain.steps == clipped.steps == matched.steps == 20
        assert plain.loss[0] == clipped.loss[0] == matched.loss[0]
        assert plain.grad_norm[0] == clipped.grad_norm[0]
        assert not plain.clipped.any()
        assert not matched.clipped.any()
        assert np.array_equal(clipped.clipped, clipped.grad_norm > 0.5)
    # the seeds draw different sequences and weights
    assert runs.clipped[0].history.loss[0] != runs.clipped[1].history.loss[0]
    labels = list(runs.shown(settings))
    assert labels[:2] == ["no clipping, η = 0.1", "clipped at 0.5, η = 0.1"]


def test_matched_run_is_plain_sgd_at_the_average_clipped_step() -> None:
    settings = small_settings()
    clipped = rnn_experiment.train_memory(settings, 1, settings.train_lr, settings.train_max_norm)
    G = clipped.history.grad_norm
    lr = rnn_experiment.matched_lr(settings, clipped.history)
    assert lr == pytest.approx(float(np.mean(0.1 * np.minimum(1.0, 0.5 / G))), rel=1e-14)
    assert lr < settings.train_lr
    matched = rnn_experiment.training_comparison(settings).matched[1]
    np.testing.assert_array_equal(
        matched.history.loss, rnn_experiment.train_memory(settings, 1, lr).history.loss
    )
    # the final loss is the trained network's loss on all the sequences
    x, y = rnn_experiment.memory_task(settings, 1)
    assert np.isfinite(matched.final_loss)
    assert matched.final_loss != matched.history.loss[-1]
    assert x.shape == (32, 10, 1)
    np.testing.assert_array_equal(y, x[:, 0])


def test_product_order_matches_backpropagation_only_in_order() -> None:
    errors = rnn_experiment.product_order(small_settings(time_hidden=8, time_steps=10))
    assert errors["ordered"] < 1e-12
    assert errors["reversed"] > 0.01
    # in the linear regime with an orthogonal W_hh the factors nearly commute: both orders agree
    linear = rnn_experiment.product_order(small_settings(time_hidden=8, time_steps=10), 1e-6)
    assert linear["reversed"] < 1e-4


def test_rnn_run_gives_the_numbers_of_the_steps() -> None:
    settings = small_settings()
    result = rnn_experiment.run(settings, figures=False)
    assert result.figures == {}
    numbers = result.numbers
    assert set(numbers) == {"order", "time", "cliff", "train"}
    time = numbers["time"]
    assert list(time["factor"]) == ["0.8", "0.9", "1", "1.1", "1.2"]
    assert (time["below"]["radius"], time["above"]["radius"]) == (0.9, 1.1)
    assert (time["low"]["radius"], time["high"]["radius"]) == (0.8, 1.2)
    assert time["steps_back"] == settings.time_steps - 1
    assert time["factor_list"].startswith("0.8000 for *r* = 0.8, ")
    plain, plain_G = rnn_experiment.cliff_descent(settings)
    assert numbers["cliff"]["step"] == int(np.argmax(plain_G))
    assert numbers["cliff"]["loss_start"] == float(rnn_experiment.cliff_loss(settings)(plain[0]))
    runs = rnn_experiment.training_comparison(settings)
    clipped_run = runs.clipped[settings.train_seed]
    assert numbers["train"]["clipped_count"] == int(clipped_run.history.clipped.sum())
    assert numbers["train"]["clipped_loss"] == clipped_run.final_loss
    assert numbers["train"]["steps"] == 20
    assert list(numbers["train"]["plain"]) == ["0.01", "0.03", "0.1"]
    assert numbers["train"]["clipped"]["seeds"] == 2
    assert numbers["order"]["ordered"] < 1e-10
    cliff = numbers["cliff"]
    assert (cliff["lower"], cliff["upper"]) == (0.25, 2.25)
    h_start = rnn_experiment.one_unit_rnn(*plain[0], h0=-0.5, n_steps=30)[0]
    assert cliff["h_start"] == float(h_start)
    # JSON-ready: no NumPy types, no inf or nan
    assert json.loads(json.dumps(numbers, allow_nan=False)) == numbers


def test_rnn_run_reports_progress_and_draws_the_figures() -> None:
    calls: list[tuple[str, int, int]] = []
    settings = small_settings()
    result = rnn_experiment.run(settings, lambda *call: calls.append(call))
    assert calls == [("cliff", 1, 1), ("training", 1, 2), ("training", 2, 2)]
    assert set(result.figures) == FIGURES
    assert all(isinstance(fig, Figure) for fig in result.figures.values())
    assert result.numbers == rnn_experiment.run(settings, figures=False).numbers


def test_conf_run_reproduces_the_page_claims(conf_settings: rnn_experiment.Settings) -> None:
    numbers = gw.experiments.run(gw.experiments.load(CONF), figures=False).numbers
    for key, factor in numbers["time"]["factor"].items():
        assert factor == pytest.approx(float(key), rel=0.01)
    cliff = numbers["cliff"]
    assert cliff["G"] > 20
    assert cliff["jump"] > 50 * cliff["median_step"]
    assert (
        cliff["clipped_max_step"] <= conf_settings.cliff_lr * conf_settings.cliff_max_norm + 1e-12
    )
    assert cliff["loss_clipped"] < 0.05 * cliff["loss_plain"]
    assert abs(cliff["h_start"] + 1) < 0.05  # the start is on the lower plateau
    assert abs(cliff["loss_plain"] - cliff["lower"]) < 1e-3
    train = numbers["train"]
    assert train["plain_max_loss"] > 2 * train["first_loss"]
    assert train["clipped_loss"] < 0.5 * train["plain_loss"]
    # over the seeds: worse than clipping at its learning rate, as good at its average step
    assert train["same_lr_worse"] == len(conf_settings.train_seeds)
    assert train["matched_ratio"] < 1.1
    assert train["clipped_text"] in {"all 150", f"{train['clipped_count']} of the 150"}


def test_figure_cliff_draws_both_paths(conf_settings: rnn_experiment.Settings) -> None:
    settings = dataclasses.replace(conf_settings, cliff_descent_steps=5)
    plain, plain_G = rnn_experiment.cliff_descent(settings)
    clipped, clipped_G = rnn_experiment.cliff_descent(settings, max_norm=settings.cliff_max_norm)
    fig = rnn_experiment.figure_cliff(settings, plain, plain_G, clipped, clipped_G, resolution=16)
    surface, grad_norms = fig.axes[0], fig.axes[1]
    labels = [t.get_text() for t in surface.get_legend().get_texts()]
    assert labels == ["no clipping", "clipped at 0.5", "start"]
    assert surface.get_xlim() == tuple(settings.cliff_extent[:2])
    assert grad_norms.get_yscale() == "log"
    np.testing.assert_allclose(grad_norms.get_lines()[0].get_ydata(), plain_G)
    # a logarithmic colour scale: the valley (near 0) and the lower plateau (0.25) differ
    mesh = surface.collections[0]
    shades = mesh.to_rgba(np.array([1e-6, 0.25, 2.25]))[:, :3].mean(axis=1)
    assert shades[0] - shades[1] > 0.3
    assert shades[1] - shades[2] > 0.3
    assert gw.plotting.smallest_text_px(fig) >= 9


def test_figure_time_draws_r_to_the_k() -> None:
    norms = {0.5: np.array([1.0, 0.5, 0.25]), 2.0: np.array([1.0, 2.0, 4.0])}
    fig = rnn_experiment.figure_time(norms)
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[1].get_ydata(), [1.0, 0.5, 0.25])
    np.testing.assert_allclose(lines[3].get_ydata(), [1.0, 2.0, 4.0])


@pytest.mark.parametrize("value", ["no", 1, None])
def test_return_sequences_must_be_a_bool(value: object) -> None:
    # A string such as "no" is truthy: taken as it is, it would return every step.
    with pytest.raises(TypeError, match="return_sequences must be True or False"):
        gw.RNN(2, 3, 1, return_sequences=value)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="return_sequences must be True or False"):
        gw.LSTM(2, 3, 1, return_sequences=value)  # type: ignore[arg-type]
