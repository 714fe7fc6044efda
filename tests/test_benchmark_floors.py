"""benchmarks/floors.py: each floor runs the library step's products, reuses its buffers, and
bench_layers gives well-formed rows. No timing is asserted."""

from __future__ import annotations

import doctest
import importlib.util
import math
import sys
import tracemalloc
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import gradwatch as gw

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_floors() -> ModuleType:
    """Import benchmarks/floors.py as run.py does: with benchmarks/ on sys.path (for suite)."""
    spec = importlib.util.spec_from_file_location(
        "gradwatch_benchmarks_floors", BENCHMARKS / "floors.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


floors = load_floors()

# One tiny network of each kind: N=6 sequences of T=4 steps, I=3, H=5, O=2.
TINY = (
    floors.MLPNet("layernorm", "LayerNorm MLP", 3, 16, 8, norm="layer"),
    floors.MLPNet("batchnorm", "BatchNorm MLP", 3, 16, 8, norm="batch"),
    floors.MLPNet("residual", "residual MLP", 4, 16, 8, residual=True),
    floors.RecurrentNet("lstm", "LSTM", "lstm", 3, 5, 2, 4, 6),
    floors.RecurrentNet("gru", "GRU", "gru", 3, 5, 2, 4, 6),
)
IDS = [net.key for net in TINY]


def record_matmul_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int, int]]:
    """Record every later call of ``np.matmul`` by name (as the floors make them)."""
    calls: list[tuple[int, int, int, int]] = []
    real = np.matmul

    def recording(a, b, *args, **kwargs):
        calls.append(floors.product_shape(a.shape, b.shape))
        return real(a, b, *args, **kwargs)

    monkeypatch.setattr(np, "matmul", recording)
    return calls


@pytest.mark.parametrize("net", TINY, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floor_runs_the_products_the_step_runs(net, dtype: str, monkeypatch) -> None:
    model, x, y = net.problem(dtype)
    floor = net.floor(model)
    assert floors.step_products(model, x, y) == floor.products  # the library, recorded
    calls = record_matmul_calls(monkeypatch)
    floor()
    assert calls == floor.products  # what the floor's call really runs
    assert floor.flops == floors.flops(floor.products) > 0


def test_mlp_products_by_hand() -> None:
    # LayerNorm MLP 3 x 16, batch 8: x W per layer, then x^T dz and dz W^T from the last
    # layer, without the first layer's dz W^T.
    model, _, _ = TINY[0].problem("float64")
    forward = [(1, 8, 16, 16)] * 3
    backward = [(1, 16, 8, 16), (1, 8, 16, 16)] * 2 + [(1, 16, 8, 16)]
    assert floors.MLPFloor(model, 8).products == forward + backward


def test_step_products_of_a_plain_mlp_are_section_1s() -> None:
    # suite.MatmulFloor (section 1) was written by hand: the recording agrees with it.
    suite = sys.modules["suite"]
    net = suite.Net("t", 3, 16, 8)
    mlp, x, y = suite.make_problem(net, "float64")
    matmul_floor = suite.MatmulFloor(mlp, net.batch, first_dx=False)
    expected = [floors.product_shape(x.shape, W.shape) for x, W, *_ in matmul_floor.layers]
    for i, (x_i, W, _, dz, _, _) in reversed(list(enumerate(matmul_floor.layers))):
        expected.append(floors.product_shape(x_i.T.shape, dz.shape))
        if i > 0:
            expected.append(floors.product_shape(dz.shape, W.T.shape))
    assert floors.step_products(mlp, x, y) == expected
    assert floors.MLPFloor(mlp, net.batch).products == expected
    assert len(expected) == matmul_floor.n_products


@pytest.mark.parametrize("net", TINY[3:], ids=IDS[3:])
def test_recurrent_products_by_hand(net) -> None:
    model, _, _ = net.problem("float64")
    N, T, H = 6, 4, 5
    n_in, n_out = 3, 2
    G = {"lstm": 4, "gru": 3}[net.cell] * H
    expected = [
        (N, T, n_in, G),  # x W_xh, every step at once
        *[(1, N, H, G)] * T,  # h W_hh
        (1, N, H, n_out),  # read-out
        (1, H, N, n_out),  # dW_hy
        (1, N, n_out, H),  # dy W_hy^T
        *[(1, N, G, H)] * T,  # da W_hh^T, down to dL/dh_0
        (1, n_in, T * N, G),  # dW_xh (tensordot)
        (1, H, T * N, G),  # dW_hh (tensordot)
        (N, T, G, n_in),  # dL/dx
    ]
    assert net.floor(model).products == expected
    assert len(expected) == 2 * T + 7


def test_tanh_noted_by_hand() -> None:
    norm, _, residual, lstm, gru = (net.floor(net.problem("float64")[0]) for net in TINY)
    B, W = 8, 16
    assert norm.tanh_shapes == [(B, W)] * (3 - 1)  # the hidden layers; the output is linear
    assert residual.tanh_shapes == [(B, W)] * (1 + 4 - 2)  # the first layer, one per block
    N, T, H = 6, 4, 5
    assert lstm.tanh_shapes == [(N, 4 * H), (N, H)] * T  # i, f, g, o; then tanh(c_t)
    assert gru.tanh_shapes == [(N, 3 * H)] * T  # r, z, n


@pytest.mark.parametrize("net", TINY, ids=IDS)
def test_tanh_noted_are_those_the_forward_pass_evaluates(net, monkeypatch) -> None:
    model, x, _ = net.problem("float64")
    floor = net.floor(model)
    evaluated: list[int] = []
    real = np.tanh

    def recording(z, *args, **kwargs):
        evaluated.append(np.size(z))
        return real(z, *args, **kwargs)

    monkeypatch.setattr(np, "tanh", recording)
    model.forward(x)
    assert sum(evaluated) == sum(math.prod(shape) for shape in floor.tanh_shapes)


def test_copies_one_per_activation_and_one_per_gradient() -> None:
    norm, _, residual, lstm, gru = (net.floor(net.problem("float64")[0]) for net in TINY)
    L, B, W = 3, 8, 16
    assert norm.copies == [(B, W)] * 2 * (3 * (L - 1) + 1)  # z, norm, tanh; the output
    assert residual.copies == [(B, W)] * 2 * (3 * (4 - 2) + 2)  # tanh, dense, sum per block
    N, T, H, n_out = 6, 4, 5, 2
    for floor, G, per_step in (
        (lstm, 4 * H, N * (2 * 4 * H + 2 * H)),  # a, gates (i, f, g, o), c, h
        (gru, 3 * H, N * (3 * 3 * H + H)),  # recurrent term, pre-activations, gates, h
    ):
        assert len(floor.copies) == 2 * (4 * T + 2)
        assert floor.copied_values == 2 * (N * T * G + T * per_step + N * n_out)


@pytest.mark.parametrize("net", TINY, ids=IDS)
def test_floor_reuses_its_buffers(net) -> None:
    floor = net.floor(net.problem("float32")[0])
    floor()
    tracemalloc.start()
    try:
        floor()
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(3):
            floor()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after <= before  # nothing kept
    assert peak < 4096  # and nothing allocated but a few small Python objects


def test_step_products_leaves_the_network_as_it_was(monkeypatch) -> None:
    net = TINY[3]
    model, x, y = net.problem("float64")
    loss, grads = model.loss_and_grads(x, y, "mse")
    expected = [g.copy() for g in grads]
    floors.step_products(model, x, y)
    assert "forward" not in vars(model)
    assert all(type(p) is np.ndarray for p in model.params())
    assert all(type(a) is np.ndarray for a in model._saved)
    assert isinstance(np.matmul, np.ufunc)
    again, grads = model.loss_and_grads(x, y, "mse")
    assert again == loss
    assert all(np.array_equal(a, b) for a, b in zip(grads, expected, strict=True))
    mlp, xm, ym = TINY[0].problem("float64")
    floors.step_products(mlp, xm, ym)
    assert isinstance(np.matmul, np.ufunc)


def test_floors_refuse_what_they_do_not_model() -> None:
    with pytest.raises(ValueError, match="return_sequences"):
        floors.RecurrentFloor(gw.LSTM(2, 3, 1, return_sequences=True), 4, 5)
    with pytest.raises(ValueError, match="bptt_steps"):
        floors.RecurrentFloor(gw.GRU(2, 3, 1, bptt_steps=2), 4, 5)
    with pytest.raises(TypeError, match="LSTM or a GRU"):
        floors.RecurrentFloor(gw.RNN(2, 3, 1), 4, 5)

    class Double(gw.Layer):
        def forward(self, x):
            return 2.0 * x

        def backward(self, dy):
            return 2.0 * dy

    with pytest.raises(TypeError, match="does not know the layer"):
        floors.MLPFloor(gw.Sequential([gw.Dense(2, 2), Double()]), 4)
    with pytest.raises(TypeError, match="does not know the network"):
        floors.step_products(object(), np.ones(1), np.ones(1))


def test_shapes_of_products() -> None:
    assert floors.product_shape((2, 3, 4), (4, 5)) == (2, 3, 4, 5)
    assert floors.tensordot_shape((2, 3, 4), (3, 2, 5), ([1, 0], [0, 1])) == (1, 4, 6, 5)
    assert floors.tensordot_shape((2, 3), (3, 4), 1) == (1, 2, 3, 4)
    with pytest.raises(ValueError, match="not a product of matrices"):
        floors.product_shape((3,), (3, 4))


def test_a_floor_out_of_date_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(floors, "step_products", lambda *args: [])
    with pytest.raises(RuntimeError, match=r"floors\.py is out of date"):
        floors.bench_layers(["float64"], nets=TINY[:1], budget_s=0.0)


@pytest.mark.parametrize("threads", [1, 2])
def test_bench_layers_rows(threads: int, capsys) -> None:
    suite = sys.modules["suite"]
    rows = floors.bench_layers(["float32"], nets=TINY, threads=threads, budget_s=0.0)
    assert [row["net"] for row in rows] == IDS
    goal = suite.TARGETS["layers"].get(suite.thread_setting(threads))
    if threads > 1:
        assert goal == floors.TARGET == 1.3
    for row, net in zip(rows, TINY, strict=True):
        assert row["label"] == net.label
        assert row["dtype"] == "float32"
        assert row["threads"] == threads
        assert row["rounds"] >= 15
        assert row["step_ms"] > 0
        assert row["floor_ms"] > 0
        assert math.isclose(row["ratio"], row["step_ms"] / row["floor_ms"])
        assert row["ratio_q1"] <= row["ratio_q3"]
        assert row["tanh_ms"] > 0
        assert math.isclose(row["ratio_tanh"], row["step_ms"] / (row["floor_ms"] + row["tanh_ms"]))
        assert row["target"] == goal
        assert row["holds"] == suite.holds(row["ratio"], goal)
        assert row["products"] == len(net.floor(net.problem("float32")[0]).products)
    assert capsys.readouterr().out.count("[layers]") == len(TINY)
    # The rows fit suite.py's results file and its table.
    results = {
        "schema": suite.SCHEMA,
        "sections": {"layers": {"created": "now", "machine": {"threads": threads}, "data": rows}},
    }
    assert suite.validate(results) == []
    _, table = suite.tables(results)["layers"]
    assert [line[0] for line in table] == [net.label for net in TINY]


def test_the_benchmarked_networks() -> None:
    assert [net.key for net in floors.NETS] == [
        "layernorm",
        "batchnorm",
        "residual",
        "lstm",
        "gru",
    ]
    assert floors.NETS_BY_KEY["lstm"].label == "LSTM, 64 in, 256 hidden, 64 out, 32 steps, batch 64"
    assert floors.NETS_BY_KEY["layernorm"].label == "LayerNorm MLP, 8 x 512, batch 256"


def test_examples_in_the_docstrings() -> None:
    assert doctest.testmod(floors).failed == 0
