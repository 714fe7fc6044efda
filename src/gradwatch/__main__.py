"""Command line: list and run the experiments of ``conf/``.

Usage::

    python -m gradwatch list
    python -m gradwatch run conf/clipping.toml [--out DIR]
    python -m gradwatch run NAME [NAME ...] | --all

``run`` writes each figure as PNG and SVG and the numbers, with the settings that produced them,
as ``numbers.json`` in ``DIR/<experiment name>/`` (default ``DIR`` is ``gradwatch-results``).
Bad settings give a one-line error and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from gradwatch import __version__, experiments, plotting


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


def _list(stream: TextIO) -> int:
    names = experiments.list_experiments()
    folder = experiments.conf_dir()
    if not names:
        stream.write(f"no experiments in {folder}\n")
        return 0
    stream.write(f"experiments in {folder}:\n")
    width = max(len(n) for n in names)
    for name in names:
        try:
            experiment = experiments.load(name)
            detail = f"{experiment.kind:<22} {experiment.title}"
        except (ValueError, TypeError) as error:
            detail = f"INVALID: {error}"
        stream.write(f"  {name:<{width}}  {detail}\n")
    return 0


def _run_one(experiment: experiments.Experiment, out: Path, stream: TextIO) -> Path:
    progress = _Progress(experiment.name, sys.stderr)
    start = time.perf_counter()
    try:
        result = experiments.run(experiment, progress=progress)
    finally:
        progress.close()
    folder = out / experiment.name
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, fig in result.figures.items():
        for suffix in ("png", "svg"):
            path = folder / f"{stem}.{suffix}"
            # The house style fixes the SVG hash salt; no date: identical runs, identical files.
            with plotting.style():
                fig.savefig(path, metadata={"Date": None} if suffix == "svg" else None)
            written.append(path.name)
    record = {
        "experiment": experiment.name,
        "kind": experiment.kind,
        "title": experiment.title,
        "settings": experiment.settings,
        "numbers": result.numbers,
        "gradwatch_version": __version__,
    }
    (folder / "numbers.json").write_text(
        json.dumps(record, indent=2, default=_jsonable) + "\n", encoding="utf-8"
    )
    seconds = time.perf_counter() - start
    stream.write(
        f"{experiment.name}: wrote numbers.json and {len(written)} figure files to {folder} "
        f"in {seconds:.1f} s\n"
    )
    return folder


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
        description="List and run the gradwatch experiments described in conf/*.toml.",
    )
    parser.add_argument("--version", action="version", version=f"gradwatch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="show the experiments in conf/")
    run = commands.add_parser("run", help="run experiments; write figures (PNG, SVG) and JSON")
    run.add_argument("targets", nargs="*", help="experiment names or paths to .toml files")
    run.add_argument("--all", action="store_true", help="run every experiment in conf/")
    run.add_argument("--out", type=Path, default=Path("gradwatch-results"), help="output folder")
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list(sys.stdout)
    targets = list(args.targets)
    if args.all:
        targets += experiments.list_experiments()
    if not targets:
        parser.error("run needs an experiment name, a .toml path, or --all")
    # Every file is read and checked before anything runs, so a typo fails at once; errors
    # raised while running are bugs and keep their traceback.
    try:
        loaded = [experiments.load(target) for target in targets]
    except (FileNotFoundError, ValueError, TypeError) as error:
        sys.stderr.write(f"gradwatch: error: {error}\n")
        return 2
    for experiment in loaded:
        _run_one(experiment, args.out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
