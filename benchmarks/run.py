"""Run gradwatch's benchmarks and print a table; ``--save`` also writes the JSON the site shows.

Usage (``nox -s bench -- ARGS`` passes ARGS here)::

    python benchmarks/run.py                 # sections 1, 1b, 2, 3 and 5: several minutes
    python benchmarks/run.py --save          # ... and write benchmarks/results/latest.json
    python benchmarks/run.py --docs --save   # also section 4, the site build (slow)
    python benchmarks/run.py --only clip,memory
    python benchmarks/run.py --threads 1     # one thread count only
    python benchmarks/run.py --check         # exit status 1 if a target is missed

Sections not run keep their last saved result in the JSON. Every section that depends on the
thread count is measured at each count of ``--threads`` (default ``1,all``: one thread, and
the machine's default, one per CPU), each in a process of its own, since BLAS reads its thread
count when NumPy loads it; NumPy's BLAS and PyTorch get the same count. With one thread, the
clock is the process's CPU time, which another program on the machine does not inflate; with
more, it is wall time. See ``suite.py`` (and ``floors.py`` for section 1b) for what each
benchmark measures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
DEFAULT_SECTIONS = ("step_floor", "layers", "torch", "clip", "memory")
ALL_SECTIONS = (*DEFAULT_SECTIONS, "site_build")
#: Measured once, whatever the thread counts: memory at the first count, the site build (which
#: sets its own threads) at the last.
ONCE_FIRST, ONCE_LAST = ("memory",), ("site_build",)


def parse_threads(text: str) -> tuple[int, ...]:
    """Thread counts from ``"1,all"``-like text; ``all`` is :func:`os.cpu_count`.

    Examples
    --------
    >>> parse_threads("1, 2, 2")
    (1, 2)
    """
    counts: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if part == "all":
            count = os.cpu_count() or 1
        else:
            try:
                count = int(part)
            except ValueError:
                raise argparse.ArgumentTypeError(f"not a thread count: {part!r}") from None
        if count < 1:
            raise argparse.ArgumentTypeError(f"thread counts must be at least 1, got {count}")
        if count not in counts:
            counts.append(count)
    if not counts:
        raise argparse.ArgumentTypeError("no thread count given")
    return tuple(counts)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/latest.json")
    parser.add_argument("--docs", action="store_true", help="also time the site build (slow)")
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if a measured target is missed"
    )
    parser.add_argument(
        "--only",
        type=lambda text: tuple(part.strip() for part in text.split(",") if part.strip()),
        help="comma-separated sections to run: " + ", ".join(ALL_SECTIONS),
    )
    parser.add_argument(
        "--threads",
        type=parse_threads,
        default=parse_threads("1,all"),
        help="comma-separated BLAS and PyTorch thread counts, 'all' for one per CPU "
        "(default: 1,all)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=6.0,
        help="seconds of rounds per comparison (and at least 15 rounds)",
    )
    parser.add_argument("--nets", default="abcd", help="networks to time, e.g. 'bc'")
    parser.add_argument(
        "--output", type=Path, default=None, help="results file (default: the committed one)"
    )
    # A run for one thread count, started by a run for several: it writes its fresh sections
    # to this file and nothing else.
    parser.add_argument("--fresh-to", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sections = args.only or (*DEFAULT_SECTIONS, *(("site_build",) if args.docs else ()))
    unknown = [name for name in sections if name not in ALL_SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}")
    args.sections = sections
    return args


def measure(args: argparse.Namespace, threads: int) -> dict[str, Any]:
    """Run ``args.sections`` in this process at ``threads`` threads: the fresh sections."""
    # BLAS reads its thread count when NumPy loads it: set it before the first import of NumPy.
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    sys.path.insert(0, str(HERE))
    import suite  # here, not at the top: NumPy must load after the thread settings

    # One thread: the process's CPU time, which other programs on the machine do not inflate.
    # More threads: wall time (CPU time would add up the threads, idle spinning included).
    clock = "process_time" if threads == 1 else "perf_counter"
    timer = getattr(time, clock)
    nets = [suite.NETS_BY_KEY[key] for key in args.nets]
    info = suite.machine(threads, clock)
    blas = info["blas"]
    print(f"gradwatch benchmarks on {info['cpu_model']}, {info['cpu_count']} CPUs")
    print(f"load average {info['load_average']}, NumPy {info['numpy']}")
    kernel = (info["openblas_runtime"] or {}).get("corename", "kernel unknown")
    print(f"BLAS {blas.get('name')} {blas.get('version')} ({kernel}), {threads} thread(s)")
    print(f"clock {clock}", flush=True)
    fresh = {}
    if "step_floor" in args.sections:
        rows = suite.bench_step_floor(nets, threads=threads, budget_s=args.budget, clock=timer)
        fresh["step_floor"] = suite.section(rows, info)
    if "layers" in args.sections:
        import floors

        rows = floors.bench_layers(threads=threads, budget_s=args.budget, clock=timer)
        fresh["layers"] = suite.section(rows, info)
    if "torch" in args.sections:
        data = suite.bench_torch(nets, threads=threads, budget_s=args.budget, clock=timer)
        fresh["torch"] = suite.section(data, info)
    if "clip" in args.sections:
        rows = suite.bench_clip(threads=threads, budget_s=args.budget, clock=timer)
        fresh["clip"] = suite.section(rows, info)
    if "memory" in args.sections:
        fresh["memory"] = suite.section(suite.bench_memory(), info)
    if "site_build" in args.sections:
        fresh["site_build"] = suite.section(suite.bench_site_build(), info)
    return fresh


def measure_each(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run the sections once per thread count, each in a new process: their fresh sections."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="gradwatch-bench-") as tmp:
        for i, threads in enumerate(args.threads):
            sections = [
                name
                for name in args.sections
                if not (name in ONCE_FIRST and i > 0)
                and not (name in ONCE_LAST and i < len(args.threads) - 1)
            ]
            if not sections:
                continue
            out = Path(tmp) / f"threads-{threads}.json"
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                *("--only", ",".join(sections)),
                *("--threads", str(threads)),
                *("--budget", str(args.budget)),
                *("--nets", args.nets),
                *("--fresh-to", str(out)),
            ]
            print(f"\n--- {threads} thread(s) ---", flush=True)
            subprocess.run(command, check=True)
            runs.append(json.loads(out.read_text()))
    return runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    if args.fresh_to is not None:
        if len(args.threads) != 1:
            raise SystemExit("--fresh-to takes exactly one thread count")
        fresh = measure(args, args.threads[0])
        args.fresh_to.write_text(json.dumps(fresh))
        return 0
    if len(args.threads) == 1:
        fresh = measure(args, args.threads[0])
        import suite
    else:
        runs = measure_each(args)
        sys.path.insert(0, str(HERE))
        import suite

        fresh = suite.combine(runs)
    output = args.output or suite.RESULTS
    results = suite.merge(suite.load(output) if args.save else None, fresh)
    print()
    print(suite.report(results))
    print(f"\nbenchmarks took {time.perf_counter() - started:.0f} s")
    if args.save:
        suite.save(results, output)
        print(f"wrote {output}")
    missed = suite.missed_targets(fresh)
    if missed:
        print("\ntargets missed:\n" + "\n".join(f"  {line}" for line in missed))
    if args.check and missed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
