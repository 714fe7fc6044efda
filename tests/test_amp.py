"""Mixed precision: GradScaler against torch's semantics, master weights, loss_scale, float16."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import gradwatch as gw
from gradwatch import amp

# --------------------------------------------------------------------------------------------
# GradScaler
# --------------------------------------------------------------------------------------------


def torch_update(
    scale: float, tracker: int, found_inf: bool, growth: float, backoff: float, interval: int
) -> tuple[float, int]:
    """``_amp_update_scale_``, as PyTorch's kernel computes it (scale kept in float32)."""
    if found_inf:
        return float(np.float32(scale * backoff)), 0
    tracker += 1
    if tracker == interval:
        grown = scale * growth
        if math.isfinite(float(np.float32(grown))) and grown <= np.finfo(np.float32).max:
            scale = float(np.float32(grown))
        tracker = 0
    return scale, tracker


def test_defaults_are_torchs() -> None:
    scaler = amp.GradScaler()
    assert scaler.get_scale() == 65536.0
    assert isinstance(scaler.get_scale(), float)
    assert (scaler.growth_factor, scaler.backoff_factor, scaler.growth_interval) == (2.0, 0.5, 2000)
    assert scaler.growth_tracker == 0
    assert repr(scaler) == (
        "GradScaler(scale=65536, growth_factor=2, backoff_factor=0.5, growth_interval=2000)"
    )


@pytest.mark.parametrize(
    ("growth", "backoff", "interval"), [(2.0, 0.5, 3), (3.0, 0.25, 1), (1.5, 0.9, 4)]
)
def test_scale_sequence_matches_torchs_update(growth: float, backoff: float, interval: int) -> None:
    rng = np.random.default_rng(0)
    pattern = rng.random(60) < 0.15  # True: a step with a non-finite gradient
    scaler = amp.GradScaler(
        init_scale=1024.0, growth_factor=growth, backoff_factor=backoff, growth_interval=interval
    )
    opt, w = gw.optim.SGD(lr=1e-3), np.zeros(2)
    scale, tracker = 1024.0, 0
    for bad in pattern:
        g = np.array([np.inf if bad else 1.0, 2.0]) * scaler.get_scale()
        stepped = scaler.step(opt, [w], [g])
        assert stepped is (not bad)
        scaler.update()
        scale, tracker = torch_update(scale, tracker, bool(bad), growth, backoff, interval)
        assert scaler.get_scale() == scale
        assert scaler.growth_tracker == tracker
    assert opt.steps == int((~pattern).sum())  # skipped steps never reach the optimiser


def test_state_sequence_by_hand() -> None:
    scaler = amp.GradScaler(init_scale=8.0, growth_interval=2)
    opt, w = gw.optim.SGD(lr=1.0), np.zeros(1)
    states = []
    for g in [1.0, 1.0, 1.0, np.nan, 1.0, 1.0, 1.0]:
        stepped = scaler.step(opt, [w], [np.array([g])])
        scaler.update()
        states.append((stepped, scaler.get_scale(), scaler.growth_tracker))
    assert states == [
        (True, 8.0, 1),
        (True, 16.0, 0),  # two good steps in a row: grow, reset the count
        (True, 16.0, 1),
        (False, 8.0, 0),  # skipped: back off, reset the count
        (True, 8.0, 1),
        (True, 16.0, 0),
        (True, 16.0, 1),
    ]


def test_unscale_divides_in_place_and_reports_non_finite() -> None:
    scaler = amp.GradScaler(init_scale=4.0)
    g1, g2 = np.array([8.0, -2.0], dtype=np.float32), np.array([[1.0]])
    assert scaler.unscale([g1, g2]) is False
    np.testing.assert_array_equal(g1, [2.0, -0.5])
    np.testing.assert_array_equal(g2, [[0.25]])
    assert g1.dtype == np.float32


def test_unscale_multiplies_by_the_float32_reciprocal() -> None:
    scaler = amp.GradScaler(init_scale=3.0)
    g = np.array([3.0])
    scaler.unscale([g])
    assert g[0] == 3.0 * float(np.float32(1 / 3))  # as torch: inv_scale is a float32
    assert g[0] != 1.0


def test_unscale_finds_inf_and_nan_anywhere() -> None:
    for bad in (np.inf, -np.inf, np.nan):
        scaler = amp.GradScaler(init_scale=2.0)
        g = np.array([1.0, 2.0, bad])
        assert scaler.unscale([np.ones(3), g]) is True
        assert g[0] == 0.5  # still unscaled, as torch's kernel does


def test_step_after_unscale_does_not_unscale_again() -> None:
    scaler = amp.GradScaler(init_scale=4.0)
    w, g = np.zeros(1), np.array([8.0])
    scaler.unscale([g])
    gw.clip.clip_by_global_norm([g], max_norm=1.0, inplace=True)  # clipping between the two
    assert scaler.step(gw.optim.SGD(lr=1.0), [w], [g]) is True
    assert w[0] == -1.0
    scaler.update()
    assert scaler.get_scale() == 4.0


def test_a_skipped_step_changes_nothing() -> None:
    scaler = amp.GradScaler()
    opt = gw.optim.Adam(lr=0.1)
    w = np.array([1.0, 2.0])
    assert scaler.step(opt, [w], [np.array([np.nan, 1.0])]) is False
    np.testing.assert_array_equal(w, [1.0, 2.0])
    assert opt.steps == 0


def test_the_order_of_calls_is_enforced() -> None:
    scaler = amp.GradScaler()
    with pytest.raises(RuntimeError, match="no overflow check"):
        scaler.update()
    scaler.unscale([np.ones(1)])
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale([np.ones(1)])
    scaler.update()  # after unscale alone, as torch allows
    scaler.step(gw.optim.SGD(), [np.zeros(1)], [np.ones(1)])
    with pytest.raises(RuntimeError, match=r"step\(\) has already been called"):
        scaler.step(gw.optim.SGD(), [np.zeros(1)], [np.ones(1)])
    with pytest.raises(RuntimeError, match=r"after step\(\)"):
        scaler.unscale([np.ones(1)])
    scaler.update()
    assert scaler.step(gw.optim.SGD(), [np.zeros(1)], [np.ones(1)]) is True


def test_float16_and_read_only_gradients_are_refused() -> None:
    scaler = amp.GradScaler()
    with pytest.raises(ValueError, match=r"grads\[0\] is float16"):
        scaler.unscale([np.ones(2, dtype=np.float16)])
    frozen = np.ones(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        scaler.unscale([frozen])
    with pytest.raises(TypeError):
        scaler.unscale(np.ones(2))  # type: ignore[arg-type]


def test_growth_that_would_overflow_float32_is_not_applied() -> None:
    scaler = amp.GradScaler(init_scale=2.0**127, growth_interval=1)
    scaler.step(gw.optim.SGD(), [np.zeros(1)], [np.zeros(1)])
    scaler.update()
    assert scaler.get_scale() == 2.0**127
    assert scaler.growth_tracker == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"init_scale": 0.0}, ValueError, "init_scale"),
        ({"init_scale": 1e39}, ValueError, "init_scale"),
        ({"init_scale": "1"}, TypeError, "init_scale"),
        ({"growth_factor": 1.0}, ValueError, "growth_factor"),
        ({"growth_factor": math.inf}, ValueError, "growth_factor"),
        ({"backoff_factor": 1.0}, ValueError, "backoff_factor"),
        ({"backoff_factor": 0.0}, ValueError, "backoff_factor"),
        ({"growth_interval": 0}, ValueError, "growth_interval"),
        ({"growth_interval": 2.5}, TypeError, "growth_interval"),
        ({"growth_interval": True}, TypeError, "growth_interval"),
    ],
)
def test_bad_hyper_parameters(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        amp.GradScaler(**kwargs)


# --------------------------------------------------------------------------------------------
# MasterWeights and scaled_step
# --------------------------------------------------------------------------------------------


def test_master_weights_copy_and_round_back() -> None:
    w16 = np.array([1.0, -0.5], dtype=np.float16)
    master = amp.MasterWeights([w16])
    assert master.params[0].dtype == np.float32
    assert master.params[0] is not w16
    grads = master.load_grads([np.array([2.0**-24, 3.0], dtype=np.float16)])
    assert grads is master.grads
    assert grads[0].tolist() == [2.0**-24, 3.0]  # exact: float16 fits in float32
    master.params[0][...] = [1.0 + 2.0**-12, 70000.0 / 1e5]
    master.copy_to_model()
    assert w16.tolist() == [1.0, float(np.float16(0.7))]


def test_master_weights_accumulate_what_float16_loses() -> None:
    w16 = np.ones(3, dtype=np.float16)
    direct = w16.copy()
    master = amp.MasterWeights([w16])
    opt, opt16 = gw.optim.SGD(lr=1e-4), gw.optim.SGD(lr=1e-4)
    for _ in range(20):
        g = np.ones(3, dtype=np.float16)
        opt.step(master.params, master.load_grads([g]))
        master.copy_to_model()
        opt16.step([direct], [g])
    assert direct.tolist() == [1.0, 1.0, 1.0]  # every update below half an ulp: lost
    assert float(w16[0]) == pytest.approx(0.998, abs=3e-4)


def test_master_weights_check_their_input() -> None:
    with pytest.raises(TypeError, match="dtype"):
        amp.MasterWeights([np.ones(2)], dtype=np.int32)
    master = amp.MasterWeights([np.ones(2, dtype=np.float16)])
    with pytest.raises(ValueError, match="shape"):
        master.load_grads([np.ones(3, dtype=np.float16)])


def test_scaled_step_backs_off_until_the_gradients_fit() -> None:
    net = gw.MLP([2, 8, 1], dtype=np.float16, seed=0)
    master = amp.MasterWeights(net.params())
    opt = gw.optim.SGD(lr=0.1)
    scaler = amp.GradScaler(init_scale=2.0**40)
    x = np.random.default_rng(0).normal(size=(16, 2))
    stepped = [amp.scaled_step(net, x, x[:, :1], opt, scaler, master)[1] for _ in range(40)]
    first_good = stepped.index(True)
    assert not any(stepped[:first_good])
    assert all(stepped[first_good:])
    assert scaler.get_scale() == 2.0 ** (40 - first_good)
    assert opt.steps == 40 - first_good
    for p16, p32 in zip(net.params(), master.params, strict=True):
        np.testing.assert_array_equal(p16, p32.astype(np.float16))


# --------------------------------------------------------------------------------------------
# loss_scale and float16 on every network
# --------------------------------------------------------------------------------------------


def networks(dtype: Any) -> dict[str, Any]:
    return {
        "mlp": gw.MLP([6, 16, 16, 1], dtype=dtype, seed=0),
        "layer_norm": gw.MLP([6, 16, 16, 1], dtype=dtype, seed=0, norm="layer"),
        "batch_norm": gw.MLP([6, 16, 16, 1], dtype=dtype, seed=0, norm="batch"),
        "residual": gw.MLP([6, 16, 16, 16, 1], dtype=dtype, seed=0, norm="layer", residual=True),
        "sequential": gw.Sequential(
            [
                gw.Dense(6, 16, activation="identity", dtype=dtype),
                gw.ActivationLayer("relu"),
                gw.Dense(16, 1, activation="identity", rng=1, dtype=dtype),
            ]
        ),
        "rnn": gw.RNN(3, 8, 1, dtype=dtype, seed=0),
        "lstm": gw.LSTM(3, 8, 1, dtype=dtype, seed=0),
        "gru": gw.GRU(3, 8, 1, dtype=dtype, seed=0),
    }


NAMES = list(networks(np.float64))


def batch(name: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    if name in {"rnn", "lstm", "gru"}:
        return rng.normal(size=(8, 10, 3)), rng.normal(size=(8, 1))
    return rng.normal(size=(32, 6)), rng.normal(size=(32, 1))


@pytest.mark.parametrize("name", NAMES)
def test_loss_scale_multiplies_every_gradient_not_the_loss(name: str) -> None:
    net = networks(np.float64)[name]
    x, y = batch(name)
    value, grads = net.loss_and_grads(x, y)
    grads = [g.copy() for g in grads]
    scaled_value, scaled = net.loss_and_grads(x, y, loss_scale=1024.0)
    assert scaled_value == value
    for g, s in zip(grads, scaled, strict=True):
        np.testing.assert_array_equal(s, 1024.0 * g)  # a power of two: exact


@pytest.mark.parametrize("name", NAMES)
def test_float16_forward_and_backward_match_float32(name: str) -> None:
    net16, net32 = networks(np.float16)[name], networks(np.float32)[name]
    for p32, p16 in zip(net32.params(), net16.params(), strict=True):
        p32[...] = p16
    x, y = batch(name)
    value16, grads16 = net16.loss_and_grads(x, y, loss_scale=256.0)
    value32, grads32 = net32.loss_and_grads(x, y)
    assert value16 == pytest.approx(value32, rel=1e-2)
    scale = max(float(np.abs(g).max()) for g in grads32)
    for g16, g32 in zip(grads16, grads32, strict=True):
        assert g16.dtype == np.float16
        unscaled = g16.astype(np.float32) / 256.0
        np.testing.assert_allclose(unscaled, g32, rtol=0.05, atol=0.02 * scale)


def test_float16_output_gradient_is_scaled_before_it_is_rounded() -> None:
    # dL/dy = 2 (y_pred - y) / N = -2e-8 rounds to 0 in float16 (below 2^-25), but 2e-8 * 2^10 does
    # not: the scale must be applied in float32, before the rounding.
    net = gw.MLP([1, 1], activation="identity", init="zeros", dtype=np.float16)
    x, y = np.array([[1.0]]), np.array([[1e-8]])
    _, grads = net.loss_and_grads(x, y, loss_scale=1.0)
    assert float(grads[0][0, 0]) == 0.0
    _, grads = net.loss_and_grads(x, y, loss_scale=1024.0)
    assert float(grads[0][0, 0]) / 1024 == pytest.approx(-2e-8, rel=1e-2)


def test_float16_losses_of_large_outputs_are_finite() -> None:
    net = gw.MLP([1, 1], activation="identity", init="ones", dtype=np.float16)
    x = np.full((64, 1), 300.0)
    with np.errstate(over="ignore"):  # the weight gradient, 64 * 300 * 9.4, does overflow
        value, _ = net.loss_and_grads(x, np.zeros((64, 1)))
    assert value == 90000.0  # the sum of squares, 5.8e6, would overflow in float16


@pytest.mark.parametrize("scale", [0.0, -1.0, math.inf, math.nan])
def test_bad_loss_scale_is_rejected(scale: float) -> None:
    net = gw.MLP([1, 1])
    with pytest.raises(ValueError, match="loss_scale"):
        net.loss_and_grads(np.ones((1, 1)), np.ones((1, 1)), loss_scale=scale)
    rnn = gw.RNN(1, 2, 1)
    with pytest.raises(ValueError, match="loss_scale"):
        rnn.loss_and_grads(np.ones((1, 2, 1)), np.ones((1, 1)), loss_scale=scale)
