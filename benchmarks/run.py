"""Run gradwatch's benchmarks and print a table; ``--save`` also writes the JSON the site shows.

Usage (``nox -s bench -- ARGS`` passes ARGS here)::

    python benchmarks/run.py                 # sections 1, 2, 3 and 5: a few minutes
    python benchmarks/run.py --save          # ... and write benchmarks/results/latest.json
    python benchmarks/run.py --docs --save   # also section 4, the site build (slow)
    python benchmarks/run.py --only clip,memory
    python benchmarks/run.py --check         # exit status 1 if a target is missed

Sections not run keep their last saved result in the JSON. NumPy's BLAS and PyTorch get the
same number of threads (``--threads``, default 1): with one thread, the clock is the process's
CPU time, which another program on the machine does not inflate; with more, it is wall time.
See ``suite.py`` for what each benchmark measures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
DEFAULT_SECTIONS = ("step_floor", "torch", "clip", "memory")


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
        help="comma-separated sections to run: step_floor, torch, clip, memory, site_build",
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads")
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
    args = parser.parse_args(argv)
    sections = args.only or (*DEFAULT_SECTIONS, *(("site_build",) if args.docs else ()))
    unknown = [name for name in sections if name not in (*DEFAULT_SECTIONS, "site_build")]
    if unknown:
        parser.error(f"unknown sections {unknown}")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    args.sections = sections
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # BLAS reads its thread count when NumPy loads it: set it before the first import of NumPy.
    for name in THREAD_VARIABLES:
        os.environ[name] = str(args.threads)
    sys.path.insert(0, str(HERE))
    import suite  # here, not at the top: NumPy must load after the thread settings

    # One thread: the process's CPU time, which other programs on the machine do not inflate.
    # More threads: wall time (CPU time would add up the threads, idle spinning included).
    clock = "process_time" if args.threads == 1 else "perf_counter"
    timer = getattr(time, clock)
    nets = [suite.NETS_BY_KEY[key] for key in args.nets]
    info = suite.machine(args.threads, clock)
    blas = info["blas"]
    print(f"gradwatch benchmarks on {info['cpu_model']}, {info['cpu_count']} CPUs")
    print(f"load average {info['load_average']}, NumPy {info['numpy']}")
    kernel = (info["openblas_runtime"] or {}).get("corename", "kernel unknown")
    print(f"BLAS {blas.get('name')} {blas.get('version')} ({kernel}), {args.threads} thread(s)")
    print(f"clock {clock}")
    started = time.perf_counter()
    fresh = {}
    if "step_floor" in args.sections:
        fresh["step_floor"] = suite.section(
            suite.bench_step_floor(nets, budget_s=args.budget, clock=timer), info
        )
    if "torch" in args.sections:
        data = suite.bench_torch(nets, threads=args.threads, budget_s=args.budget, clock=timer)
        fresh["torch"] = suite.section(data, info)
    if "clip" in args.sections:
        fresh["clip"] = suite.section(suite.bench_clip(budget_s=args.budget, clock=timer), info)
    if "memory" in args.sections:
        fresh["memory"] = suite.section(suite.bench_memory(), info)
    if "site_build" in args.sections:
        fresh["site_build"] = suite.section(suite.bench_site_build(), info)
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
