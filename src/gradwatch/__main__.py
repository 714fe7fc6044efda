"""Command line: list and run the experiments whose settings are in ``conf/``.

Usage::

    python -m gradwatch list [--conf-dir DIR]
    python -m gradwatch run clipping [--out DIR] [--no-figures]
    python -m gradwatch run path/to/clipping.toml
    python -m gradwatch run NAME [NAME ...] | --all [--conf-dir DIR]

``run`` writes each figure as PNG and SVG and the numbers, with the settings that produced them,
as ``numbers.json`` in ``DIR/<experiment name>/`` (default ``DIR`` is ``gradwatch-results``).
Every file named is loaded and checked, and the output folder tested, before anything runs:
bad settings, an unreadable file or an unusable ``--out`` give a one-line error and exit status
2, with nothing written. Figures need matplotlib (``pip install 'gradwatch[plot]'``);
``--no-figures`` writes the numbers alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from gradwatch import __version__, experiments

PLOT_EXTRA = "pip install 'gradwatch[plot]'"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


class _Progress:
    """Prints ``label: done/total`` on one line of standard error, rewritten in place."""

    def __init__(self, name: str, stream: TextIO) -> None:
        self.name = name
        self.stream = stream
        self.interactive = stream.isatty()
        self.last = ""

    def __call__(self, label: str, done: int, total: int) -> None:
        line = f"{self.name}: {label} {done}/{total}"
        if self.interactive:
            self.stream.write("\r" + line.ljust(len(self.last)))
        elif line != self.last and done in {0, total}:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.last = line

    def close(self) -> None:
        if self.interactive and self.last:
            self.stream.write("\n")


def _list(folder: Path, stream: TextIO) -> int:
    names = experiments.conf_names(folder)
    if not names:
        stream.write(f"no experiments in {folder}\n")
        return 0
    stream.write(f"experiments in {folder}:\n")
    width = max(len(n) for n in names)
    for name in names:
        try:
            detail = experiments.load(name, conf_dir=folder).title
        except (OSError, ValueError, TypeError) as error:
            detail = f"INVALID: {error}"
        stream.write(f"  {name:<{width}}  {detail}\n")
    return 0


def _check_out(out: Path) -> None:
    """Raise ValueError unless ``out`` is, or can become, a writable folder."""
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ValueError(f"--out {out}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: {existing} is not writable")


def _make_out(out: Path) -> None:
    """Create the folder ``out`` now, so that a run never ends in an error for its results.

    Some folders pass :func:`_check_out` and still cannot be created (a path under ``/proc``,
    a read-only file system, a full disk): raise ValueError with the system's reason.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"--out {out}: cannot create the folder: {error.strerror}") from None


def _write(experiment: experiments.Experiment, result: experiments.Result, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    if result.figures:
        from gradwatch import plotting

        for stem, fig in result.figures.items():
            for suffix in ("png", "svg"):
                # The house style fixes the SVG hash salt; no date: same run, same bytes.
                with plotting.style():
                    fig.savefig(
                        folder / f"{stem}.{suffix}",
                        metadata={"Date": None} if suffix == "svg" else None,
                    )
                written += 1
    record = {
        "experiment": experiment.name,
        "title": experiment.title,
        "settings": experiment.settings_dict(),
        "numbers": result.numbers,
        "gradwatch_version": __version__,
    }
    (folder / "numbers.json").write_text(
        json.dumps(record, indent=2, default=_jsonable) + "\n", encoding="utf-8"
    )
    return written


def _run_one(experiment: experiments.Experiment, out: Path, figures: bool, stream: TextIO) -> None:
    progress = _Progress(experiment.name, sys.stderr)
    start = time.perf_counter()
    try:
        result = experiments.run(experiment, progress, figures=figures)
    finally:
        progress.close()
    folder = out / experiment.name
    written = _write(experiment, result, folder)
    seconds = time.perf_counter() - start
    stream.write(
        f"{experiment.name}: wrote numbers.json and {written} figure files to {folder} "
        f"in {seconds:.1f} s\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Examples
    --------
    >>> from gradwatch.__main__ import main
    >>> main(["run", "no_such_experiment"])  # the message goes to standard error
    2
    """
    parser = argparse.ArgumentParser(
        prog="python -m gradwatch",
        description="List and run the gradwatch experiments whose settings are in conf/*.toml.",
    )
    parser.add_argument("--version", action="version", version=f"gradwatch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    conf_help = (
        "folder of the settings files (default: this checkout's conf/, or the installed one)"
    )
    listing = commands.add_parser("list", help="show the experiments in conf/")
    listing.add_argument("--conf-dir", type=Path, help=conf_help)
    run = commands.add_parser("run", help="run experiments; write figures (PNG, SVG) and JSON")
    run.add_argument("targets", nargs="*", help="experiment names or paths to .toml files")
    run.add_argument("--all", action="store_true", help="run every experiment in the conf folder")
    run.add_argument("--conf-dir", type=Path, help=conf_help)
    run.add_argument("--out", type=Path, default=Path("gradwatch-results"), help="output folder")
    run.add_argument(
        "--no-figures", action="store_true", help="write numbers.json only (no matplotlib needed)"
    )
    args = parser.parse_args(argv)
    folder = experiments.conf_dir() if args.conf_dir is None else args.conf_dir
    if args.conf_dir is not None and not folder.is_dir():
        sys.stderr.write(f"gradwatch: error: --conf-dir {folder}: not a folder\n")
        return 2
    if args.command == "list":
        return _list(folder, sys.stdout)
    targets = list(args.targets)
    if args.all:
        targets += experiments.conf_names(folder)
    if not targets:
        parser.error("run needs an experiment name, a .toml path, or --all")
    # Everything is checked before anything runs, so a typo or a missing package fails at once
    # and writes nothing; errors raised while running are bugs and keep their traceback.
    try:
        loaded = [experiments.load(target, conf_dir=folder) for target in targets]
        _check_out(args.out)
        if not args.no_figures and importlib.util.find_spec("matplotlib") is None:
            raise ValueError(f"the figures need matplotlib: {PLOT_EXTRA}, or run with --no-figures")
        _make_out(args.out)  # last: a call that fails above creates nothing
    except (OSError, ValueError, TypeError) as error:
        sys.stderr.write(f"gradwatch: error: {error}\n")
        return 2
    for experiment in loaded:
        _run_one(experiment, args.out, not args.no_figures, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
