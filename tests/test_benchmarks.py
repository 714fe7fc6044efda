"""The logic of benchmarks/: accounting, statistics, results file, tables. No timing is asserted."""

from __future__ import annotations

import doctest
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

import gradwatch as gw

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"gradwatch_benchmarks_{name}", BENCHMARKS / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


suite = load_module("suite")
run = load_module("run")

TINY = suite.Net("t", 3, 16, 8)


# -- memory accounting ----------------------------------------------------------------------------


def test_backprop_bytes_by_hand() -> None:
    # sizes [3, 4, 2]: W1 3x4 + b1 4 = 16, W2 4x2 + b2 2 = 10 parameters; 8 bytes each.
    need = suite.backprop_bytes([3, 4, 2], batch=5, itemsize=8)
    assert need["parameters"] == need["gradients"] == 26 * 8
    assert need["activations"] == 5 * (3 + 4 + 2) * 8  # the input and every layer's output
    assert need["targets"] == 5 * 2 * 8
    assert need["total"] == 2 * 208 + 360 + 80


def test_backprop_bytes_matches_a_real_network() -> None:
    net = suite.Net("x", 4, 32, 16)
    mlp, x, y = suite.make_problem(net, "float32")
    mlp.loss_and_grads(x, y, "mse")
    need = suite.backprop_bytes(net.sizes, net.batch, 4)
    assert need["parameters"] == sum(p.nbytes for p in mlp.params())
    assert need["gradients"] == sum(g.nbytes for g in mlp.grads())
    kept = x.nbytes + sum(layer._cached.nbytes for layer in mlp.layers)
    assert need["activations"] == kept
    assert need["targets"] == y.nbytes


@pytest.mark.parametrize(
    ("sizes", "batch", "itemsize"), [([3], 1, 8), ([3, 2], 0, 8), ([3, 2], 1, 0)]
)
def test_backprop_bytes_rejects_bad_input(sizes: list[int], batch: int, itemsize: int) -> None:
    with pytest.raises(ValueError, match="need at least two sizes"):
        suite.backprop_bytes(sizes, batch, itemsize)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_peak_memory_of_a_step_holds_what_it_must_and_little_more(dtype: str) -> None:
    net = suite.Net("m", 3, 128, 64)
    need = suite.backprop_bytes(net.sizes, net.batch, np.dtype(dtype).itemsize)["total"]
    peak = suite.peak_step_bytes(net, dtype)
    assert need <= peak <= 1.3 * need


def test_bench_memory_rows() -> None:
    rows = suite.bench_memory([suite.Net("b", 2, 64, 32)], ["float64"])
    (row,) = rows
    assert row["ratio"] == pytest.approx(row["peak_bytes"] / row["total_bytes"])
    assert row["target"] == suite.TARGETS["memory"]["b"]
    assert row["holds"] == (row["ratio"] <= row["target"])


# -- the matrix-product floor ---------------------------------------------------------------------


def test_step_products_are_three_per_layer() -> None:
    products = suite.step_products([5, 4, 3], batch=2)
    assert products == [(2, 5, 4), (5, 2, 4), (2, 4, 5), (2, 4, 3), (4, 2, 3), (2, 3, 4)]


def test_matmul_floor_computes_the_step_products() -> None:
    mlp, _, _ = suite.make_problem(TINY, "float32")
    floor = suite.MatmulFloor(mlp, TINY.batch)
    floor()
    for (x, W, z, dz, dW, dx), layer in zip(floor.layers, mlp.layers, strict=True):
        assert W is layer.W  # the network's own weights
        np.testing.assert_allclose(z, x @ W, rtol=1e-5)
        np.testing.assert_allclose(dW, x.T @ dz, rtol=1e-5)
        np.testing.assert_allclose(dx, dz @ W.T, rtol=1e-5)
        assert {a.dtype for a in (x, z, dz, dW, dx)} == {np.dtype(np.float32)}
    assert floor.n_products == len(suite.step_products(TINY.sizes, TINY.batch))


def test_matmul_floor_can_leave_out_the_first_dx() -> None:
    mlp, _, _ = suite.make_problem(TINY, "float64")
    floor = suite.MatmulFloor(mlp, TINY.batch, first_dx=False)
    first_dx = floor.layers[0][5]
    first_dx[...] = 7.0
    floor()
    assert floor.n_products == 3 * TINY.n_layers - 1
    assert np.all(first_dx == 7.0)  # never written
    _, W, _, dz, _, dx = floor.layers[1]
    np.testing.assert_allclose(dx, dz @ W.T, rtol=1e-12)


def test_tanh_passes_evaluate_the_hidden_layers_tanh() -> None:
    mlp, _, _ = suite.make_problem(TINY, "float32")
    passes = suite.TanhPasses.of_mlp(mlp, TINY.batch)
    passes()
    assert len(passes.arrays) == TINY.n_layers - 1  # the hidden layers; the output is linear
    for (z, a), layer in zip(passes.arrays, mlp.layers[:-1], strict=True):
        assert z.shape == a.shape == (TINY.batch, layer.n_out)
        assert z.dtype == a.dtype == np.float32
        assert np.array_equal(a, np.tanh(z))
        assert 0.5 < float(z.std()) < 1.5  # pre-activations of about unit size


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flat_step_makes_the_library_steps_calls(dtype: str) -> None:
    # The same NumPy calls in the same order round alike: the loss and every gradient agree to
    # the last bit. Two steps, so that the library's kept buffers are reused once.
    mlp, x, y = suite.make_problem(TINY, dtype)
    flat = suite.FlatStep(mlp, x, y)
    for _ in range(2):
        value, grads = mlp.loss_and_grads(x, y, "mse")
        assert flat() == value
        mine = [g for pair in zip(flat.dW, flat.db, strict=True) for g in pair]
        assert len(mine) == len(grads)
        for ours, theirs in zip(mine, grads, strict=True):
            assert ours.dtype == theirs.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(ours, theirs)


def test_flat_step_does_not_touch_the_network() -> None:
    mlp, x, y = suite.make_problem(TINY, "float64")
    before = [p.copy() for p in mlp.params()]
    grads_before = [g.copy() for g in mlp.grads()]
    suite.FlatStep(mlp, x, y)()
    for now, then in zip(mlp.params() + mlp.grads(), before + grads_before, strict=True):
        np.testing.assert_array_equal(now, then)


# -- timing and statistics --------------------------------------------------------------------


def test_interleaved_alternates_and_stops_at_min_rounds() -> None:
    calls: list[str] = []
    ticks = iter(range(10**6))
    samples = suite.interleaved(
        {"A": lambda: calls.append("A"), "B": lambda: calls.append("B")},
        budget_s=0.0,
        min_rounds=4,
        sample_s=0.0,
        clock=lambda: float(next(ticks)),
    )
    assert [len(v) for v in samples.values()] == [4, 4]
    assert calls[4:] == ["A", "B", "B", "A", "A", "B", "B", "A"]  # after 2 warm-up calls each


def test_interleaved_settles_before_every_sample() -> None:
    # With settle_s, each sample waits, then runs its contender once untimed, then times it.
    events: list[str] = []
    ticks = iter(range(10**6))
    samples = suite.interleaved(
        {"A": lambda: events.append("A"), "B": lambda: events.append("B")},
        budget_s=0.0,
        min_rounds=2,
        sample_s=0.0,
        clock=lambda: float(next(ticks)),
        settle_s=0.25,
        sleep=lambda seconds: events.append(f"sleep {seconds}"),
    )
    assert [len(v) for v in samples.values()] == [2, 2]
    per_sample = [["sleep 0.25", name, name] for name in ("A", "B", "B", "A")]
    assert events == ["A", "A", "B", "B"] + [e for sample in per_sample for e in sample]


def test_the_torch_comparison_settles_only_with_several_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch = SimpleNamespace(set_num_threads=lambda n: None)
    seen: list[float] = []

    class EnoughError(Exception):
        """Raised by the fake timer: the options of its first call are what this test reads."""

    def fake_interleaved(contenders, **options):
        seen.append(options.get("settle_s", 0.0))
        raise EnoughError

    monkeypatch.setattr(suite, "import_torch", lambda: (torch, None))
    monkeypatch.setattr(suite, "torch_step", lambda *args: (lambda: None, []))
    monkeypatch.setattr(suite, "torch_grads_match", lambda *args: True)
    monkeypatch.setattr(suite, "interleaved", fake_interleaved)
    for threads in (1, 2):
        with pytest.raises(EnoughError):
            suite.bench_torch([TINY], ["float64"], threads=threads)
    assert seen == [0.0, suite.TORCH_SETTLE_S]


def test_interleaved_runs_setup_before_every_call() -> None:
    events: list[str] = []
    suite.interleaved(
        {"A": lambda: events.append("A"), "B": lambda: events.append("B")},
        budget_s=0.0,
        min_rounds=2,
        setup=lambda: events.append("s"),
    )
    assert events == [
        "s",
        "A",
        "s",
        "A",
        "s",
        "B",
        "s",
        "B",
        "s",
        "A",
        "s",
        "B",
        "s",
        "B",
        "s",
        "A",
    ]


def test_quartiles_and_compare() -> None:
    assert suite.quartiles([2.0]) == (2.0, 2.0, 2.0)
    assert suite.quartiles([1.0, 2.0, 3.0, 4.0, 5.0]) == (2.0, 3.0, 4.0)
    with pytest.raises(ValueError, match="empty"):
        suite.quartiles([])
    result = suite.compare([2.0, 4.0, 6.0], [1.0, 2.0, 2.0])
    assert result["a_ms"] == 4000.0
    assert result["b_ms"] == 2000.0
    assert result["ratio"] == 2.0
    assert (result["ratio_q1"], result["ratio_q3"]) == (2.0, 2.5)
    with pytest.raises(ValueError, match="same non-zero length"):
        suite.compare([1.0], [1.0, 2.0])


def test_clip_floor_clips_like_the_library() -> None:
    rng = np.random.default_rng(0)
    ours = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]
    theirs = [g.copy() for g in ours]
    norm = suite.clip_floor(ours, 0.5)
    _, G = gw.clip.clip_by_global_norm(theirs, 0.5, inplace=True)
    assert norm == pytest.approx(G, rel=1e-12)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_clip_contenders_restore_the_values() -> None:
    arrays = [np.arange(1.0, 7.0).reshape(2, 3), np.array([0.5, -2.0])]
    before = [a.copy() for a in arrays]
    contenders, restore = suite.clip_contenders(arrays)
    G = gw.clip.global_norm(arrays)
    for name in ("clip", "floor", "clip"):
        restore()
        contenders[name]()
        assert gw.clip.global_norm(arrays) == pytest.approx(G / 2, rel=1e-12)  # each call clips
    restore()
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_torch_is_optional() -> None:
    torch, reason = suite.import_torch()
    if torch is not None:
        pytest.skip("torch is installed here; the skip path is for machines without it")
    data = suite.bench_torch([TINY], ["float64"], budget_s=0.0)
    assert data == {"available": False, "reason": reason, "rows": []}


# -- results file ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_results() -> dict[str, object]:
    info = suite.machine(threads=1, clock="process_time")
    fresh = {
        "step_floor": suite.section(
            suite.bench_step_floor([TINY], ["float64"], budget_s=0.0), info
        ),
        "torch": suite.section({"available": False, "reason": "not here", "rows": []}, info),
        "clip": suite.section(
            suite.bench_clip(["float32"], shapes=[(30, 20), (20,)], budget_s=0.0), info
        ),
        "memory": suite.section(suite.bench_memory([TINY], ["float32"]), info),
    }
    return suite.merge(None, fresh)


def test_small_run_is_valid_and_renders(small_results: dict[str, object]) -> None:
    assert suite.validate(small_results) == []
    row = small_results["sections"]["step_floor"]["data"][0]  # type: ignore[index]
    assert row["products"] == 3 * TINY.n_layers - 1  # loss_and_grads skips the first dx
    assert row["threads"] == 1
    assert row["target"] is None  # no target for this net
    assert row["rounds"] >= 15
    assert math.isclose(row["ratio"], row["step_ms"] / row["floor_ms"])
    assert row["tanh_ms"] > 0
    assert math.isclose(row["ratio_tanh"], row["step_ms"] / (row["floor_ms"] + row["tanh_ms"]))
    assert row["ratio_tanh"] < row["ratio"]
    assert row["flat_ms"] > 0
    assert math.isclose(row["ratio_flat"], row["flat_ms"] / row["floor_ms"])
    text = suite.report(small_results)
    assert "(t) 3 x 16, 8 " in text
    assert "skipped, not here" in text
    header, rows = suite.tables(small_results)["clip"]
    markdown = suite.markdown_table(header, rows)
    assert markdown.splitlines()[0] == "| " + " | ".join(header) + " |"
    assert len(markdown.splitlines()) == 2 + len(rows)


def test_validate_names_the_problems(small_results: dict[str, object]) -> None:
    broken = json.loads(json.dumps(small_results))
    broken["schema"] = 0
    del broken["sections"]["clip"]["data"][0]["ratio"]
    broken["sections"]["memory"]["data"][0]["ratio"] = -1.0
    broken["sections"]["extra"] = {}
    problems = suite.validate(broken)
    assert f"schema must be {suite.SCHEMA}, got 0" in problems
    assert "clip[0]: missing 'ratio'" in problems
    assert any(p.startswith("memory[0]: ratio must be a positive number") for p in problems)
    assert "unknown section 'extra'" in problems
    with pytest.raises(ValueError, match="do not match the schema"):
        suite.save(broken, Path("/nonexistent/never-written.json"))


def test_save_and_load_round_trip(small_results: dict[str, object], tmp_path: Path) -> None:
    path = tmp_path / "results" / "latest.json"
    suite.save(small_results, path)
    assert suite.load(path) == small_results
    assert not path.with_name("latest.json.tmp").exists()
    assert suite.load(tmp_path / "missing.json") is None


def test_merge_keeps_sections_not_run_and_a_measured_torch() -> None:
    old = {
        "schema": suite.SCHEMA,
        "sections": {
            "site_build": {"created": "then", "machine": {}, "data": {"pages": {}}},
            "torch": {"created": "then", "machine": {}, "data": {"available": True, "rows": []}},
            "clip": {"created": "then", "machine": {}, "data": []},
        },
    }
    fresh = {
        "torch": {"created": "now", "machine": {}, "data": {"available": False, "rows": []}},
        "clip": {"created": "now", "machine": {}, "data": []},
    }
    merged = suite.merge(old, fresh)
    assert merged["schema"] == suite.SCHEMA
    assert merged["sections"]["site_build"]["created"] == "then"
    assert merged["sections"]["torch"]["created"] == "then"  # a skip does not erase a measurement
    assert merged["sections"]["clip"]["created"] == "now"
    assert suite.merge(None, fresh)["sections"]["torch"]["created"] == "now"
    # A file of another layout keeps nothing: its sections would not fit the new one.
    outdated = suite.merge({**old, "schema": suite.SCHEMA - 1}, fresh)
    assert set(outdated["sections"]) == {"torch", "clip"}


def test_committed_results_are_valid_and_complete() -> None:
    results = suite.load()
    assert results is not None, (
        "run `nox -s bench -- --save` to write benchmarks/results/latest.json"
    )
    assert suite.validate(results) == []
    sections = results["sections"]
    assert {"step_floor", "layers", "clip", "memory", "site_build"} <= set(sections)
    # Every net and dtype at one thread and at the machine's default (every core).
    threads = sections["step_floor"]["machine"]["threads"]
    assert isinstance(threads, list)
    assert threads[0] == 1
    assert len(threads) == 2
    measured = {(r["net"], r["dtype"], r["threads"]) for r in sections["step_floor"]["data"]}
    expected = {(n.key, d, t) for n in suite.NETS for d in suite.DTYPES for t in threads}
    assert measured == expected
    clipped = {(r["dtype"], r["threads"]) for r in sections["clip"]["data"]}
    assert clipped == {(d, t) for d in suite.DTYPES for t in threads}
    assert {r["threads"] for r in sections["layers"]["data"]} == set(threads)
    assert suite.report(results)


# -- the site build's bookkeeping ---------------------------------------------------------------


def test_latest_runtimes_picks_each_page_latest_record(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    rows = [
        (str(docs / "a.md"), json.dumps({"execution_seconds": 9.0}), "2026-01-01 10:00:00"),
        (str(docs / "a.md"), json.dumps({"execution_seconds": 2.5}), "2026-01-02 10:00:00"),
        (str(docs / "b.md"), json.dumps({"execution_seconds": 1.0}), "2026-01-01 09:00:00"),
        (str(tmp_path / "other" / "c.md"), json.dumps({"execution_seconds": 5.0}), "2026-01-03"),
        (str(docs / "d.md"), "{}", "2026-01-01 09:00:00"),
    ]
    assert suite.latest_runtimes(rows, docs) == {"a": 2.5, "b": 1.0}


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_copy_project_takes_tracked_and_new_files_not_ignored(tmp_path: Path) -> None:
    repo, dest = tmp_path / "repo", tmp_path / "copy"
    (repo / "src").mkdir(parents=True)
    (repo / ".gitignore").write_text("build/\n")
    (repo / "src" / "tracked.py").write_text("x = 1\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    (repo / "new.md").write_text("new\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.html").write_text("ignored\n")
    suite.copy_project(repo, dest)
    copied = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert copied == [".gitignore", "new.md", "src/tracked.py"]


def test_machine_description() -> None:
    info = suite.machine(threads=1, clock="process_time")
    assert info["cpu_count"] >= 1
    assert info["numpy"] == np.__version__
    assert info["threads"] == 1
    simd = info["numpy_simd"]
    if simd is not None:  # NumPy 2 says which SIMD extensions it built for and found
        assert set(simd) == {"baseline", "found", "not found"}
        assert simd["baseline"] or simd["found"]
        assert "NumPy SIMD" in suite.machine_line(info)
    runtime = suite.openblas_runtime()
    if runtime is not None:  # NumPy linked to OpenBLAS, on Linux
        assert runtime["corename"]
        assert runtime["num_threads"] >= 1


def test_the_examples_in_the_suite_hold() -> None:
    failed, tried = doctest.testmod(suite, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0
    assert failed == 0


# -- command line --------------------------------------------------------------------------------


def test_run_arguments() -> None:
    assert run.parse_args([]).sections == run.DEFAULT_SECTIONS
    assert run.parse_args(["--docs"]).sections == (*run.DEFAULT_SECTIONS, "site_build")
    assert run.parse_args(["--only", "clip, memory"]).sections == ("clip", "memory")
    args = run.parse_args(["--save", "--threads", "2", "--budget", "1.5"])
    assert (args.save, args.threads, args.budget) == (True, (2,), 1.5)
    assert run.parse_args([]).threads == run.parse_threads("1,all")
    assert run.parse_threads("all") == (os.cpu_count() or 1,)
    assert run.parse_threads("1,1,3") == (1, 3)
    for bad in (["--only", "speed"], ["--threads", "0"], ["--threads", "two"], ["--threads", ","]):
        with pytest.raises(SystemExit):
            run.parse_args(bad)


def test_check_exits_non_zero_when_a_target_is_missed(monkeypatch, capsys, tmp_path) -> None:
    missed = {
        "cold_nox_docs_s": 60.0,
        "warm_nox_docs_s": 9.0,
        "warm_rebuild_s": 2.0,
        "pages": {"index": 2.0},
        "pages_total_s": 40.0,
        "slowest_page_s": 2.0,
        "targets": suite.TARGETS["site_build"],
        "holds": {
            "cold_nox_docs_s": True,
            "warm_nox_docs_s": False,
            "warm_rebuild_s": True,
            "slowest_page_s": True,
        },
    }
    monkeypatch.setattr(suite, "bench_site_build", lambda: missed)
    monkeypatch.setitem(sys.modules, "suite", suite)  # what run.main imports
    for name in run.THREAD_VARIABLES:  # run.main sets them; restore them afterwards
        monkeypatch.setenv(name, "1")
    args = ["--only", "site_build", "--threads", "1", "--output", str(tmp_path / "r.json")]
    assert run.main(args) == 0  # reported ...
    assert "site_build: warm_nox_docs_s" in capsys.readouterr().out
    assert run.main([*args, "--check"]) == 1  # ... and, with --check, a failure
    missed["holds"]["warm_nox_docs_s"] = True
    assert run.main([*args, "--check"]) == 0


def test_torch_is_reported_not_a_target() -> None:
    fresh = {"torch": {"data": {"rows": [{"net": "b", "holds": False}]}}}
    assert suite.missed_targets(fresh) == []


def test_combine_joins_the_runs_of_each_thread_count() -> None:
    def fresh(threads: int) -> dict[str, object]:
        info = {"threads": threads}
        return {
            "clip": {"created": f"t{threads}", "machine": info, "data": [{"threads": threads}]},
            "torch": {"created": "t", "machine": info, "data": {"available": True, "rows": [{}]}},
        }

    both = suite.combine([fresh(1), fresh(2), {"memory": {"created": "m", "machine": {}}}])
    assert both["clip"]["created"] == "t1"
    assert both["clip"]["machine"]["threads"] == [1, 2]
    assert [row["threads"] for row in both["clip"]["data"]] == [1, 2]
    assert len(both["torch"]["data"]["rows"]) == 2
    assert both["memory"]["created"] == "m"  # measured once: kept as it is


def test_targets_depend_on_the_thread_count() -> None:
    one = suite.bench_step_floor([suite.NETS_BY_KEY["a"]], ["float64"], threads=1, budget_s=0.0)
    more = suite.bench_step_floor([suite.NETS_BY_KEY["a"]], ["float64"], threads=2, budget_s=0.0)
    assert one[0]["target"] == suite.TARGETS["step_floor"]["one"]["a"]
    assert more[0]["target"] is None  # (a) has a target at one thread only
    fresh = {"step_floor": {"data": [{**one[0], "holds": False}]}}
    assert suite.missed_targets(fresh) == ["step_floor[0] (net=a, dtype=float64, threads=1)"]
