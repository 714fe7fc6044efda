#!/usr/bin/env -S uv run --script
# /// script
# dependencies = ["nox[uv]>=2025.2.9"]
# ///
"""The project's one entry point: ``nox -s tests``, ``nox -s docs``, ``nox -s lint`` and friends.

Every session installs what it needs into its own virtual environment (uv when it is there, which
``pip install 'nox[uv]'`` brings), so a machine with Python 3.11 and pip is enough.
"""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"  # dependency groups, default= on sessions
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
DOCS_OUT = ROOT / "docs" / "_build" / "html"
PYTHON = "3.11"
# uv skips .pyc files when PYTHONDONTWRITEBYTECODE is set; compiled files keep warm builds fast.
ENV = {"UV_COMPILE_BYTECODE": "1"}
# One BLAS thread, as the pages execute (docs/conf.py sets it there): the same summation order
# on every machine, so the command line writes the numbers the pages show.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _install(session: nox.Session, *groups: str, extras: str = "") -> None:
    """Install the package (editable) and the pinned dependency ``groups`` of pyproject.toml.

    The install is skipped when this virtual environment already holds exactly these
    requirements (a stamp keyed on pyproject.toml and the groups), which keeps warm runs fast;
    ``nox -r`` or a changed pyproject.toml installs again.
    """
    requirements = nox.project.dependency_groups(PYPROJECT, *groups) if groups else ()
    package = f".[{extras}]" if extras else "."
    key = hashlib.sha256(
        "\n".join(
            [(ROOT / "pyproject.toml").read_text(encoding="utf-8"), package, *requirements]
        ).encode("utf-8")
    ).hexdigest()
    location = getattr(session.virtualenv, "location", None)
    stamp = Path(location) / ".gradwatch-installed" if location else None
    if stamp is not None and stamp.is_file() and stamp.read_text(encoding="utf-8") == key:
        session.log("requirements already installed (pyproject.toml unchanged)")
        return
    session.install("-e", package, *requirements, env=ENV)
    if stamp is not None:
        stamp.write_text(key, encoding="utf-8")


@nox.session(python=PYTHON, default=True)
def tests(session: nox.Session) -> None:
    """Run the test suite, the doctests of the package and of the README, and the page tests.

    The docs toolchain is installed too: tests/test_pages.py executes every page against the
    command line, and tests/test_docs_build.py proves that a failing cell fails the build.
    """
    _install(session, "test", "docs")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON, default=True)
def lint(session: nox.Session) -> None:
    """Ruff (lint and format check) and mypy in strict mode on the package."""
    _install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


def _sphinx_args(session: nox.Session, builder: str, out: Path) -> list[str]:
    # -j auto: pages are read, and so executed, in parallel, one BLAS thread each (docs/conf.py),
    # so the numbers and figures are the same bytes as a serial build's.
    args = ["-n", "-W", "--keep-going", "-j", "auto", "-b", builder, "docs", str(out)]
    # The execution cache re-runs a page when its text, the package's sources or its conf/ file
    # change (docs/_ext). `--force` (and CI) re-reads every page (-E) and executes it afresh.
    if os.environ.get("CI") or "--force" in session.posargs:
        args += ["-E", "-D", "nb_execution_mode=force"]
    return args


@nox.session(python=PYTHON, default=True)
def docs(session: nox.Session) -> None:
    """Build the site into docs/_build/html, executing every page that needs it (never serves).

    ``-- --force`` executes every page afresh.
    """
    _install(session, "docs")
    session.run("sphinx-build", *_sphinx_args(session, "html", DOCS_OUT))
    session.log(f"Built {DOCS_OUT / 'index.html'}")


@nox.session(python=PYTHON, default=False)
def linkcheck(session: nox.Session) -> None:
    """Check the site's links into docs/_build/linkcheck.

    Internal links, cross-references and citations must resolve: the build runs with -n -W.
    External URLs are not fetched, because the build machines reach no web site (docs/conf.py
    ignores every http(s) URL unless GRADWATCH_LINKCHECK_EXTERNAL=1); they are listed in
    docs/_build/linkcheck/external.txt. Pages execute as in a local build (execution cache).
    """
    _install(session, "docs")
    out = ROOT / "docs" / "_build" / "linkcheck"
    args = ["-n", "-W", "--keep-going", "-j", "auto", "-b", "linkcheck", "docs", str(out)]
    session.run("sphinx-build", *args)
    session.log(f"External links (not fetched): {out / 'external.txt'}")
    session.log(f"Link report: {out / 'output.txt'}")


@nox.session(name="docs-live", python=PYTHON, default=False)
def docs_live(session: nox.Session) -> None:
    """Serve the site on http://127.0.0.1:8000 and rebuild it on every change (for authors).

    A change under docs/, src/, conf/ or benchmarks/results/ (which the Performance page reads)
    rebuilds; the pages whose inputs changed execute again (docs/_ext). Ctrl-C or SIGTERM to nox
    stops the server too.
    """
    _install(session, "docs", "live")
    # nox stops the command it runs on KeyboardInterrupt; make SIGTERM take the same path, so
    # that the server never outlives this session.
    signal.signal(signal.SIGTERM, _interrupt)
    session.run(
        "sphinx-autobuild",
        "--host",
        "127.0.0.1",
        "--port",
        "8000",
        "--watch",
        "src",
        "--watch",
        "conf",
        "--watch",
        "benchmarks/results",
        "--ignore",
        "docs/_build",
        "-n",
        "--keep-going",
        "docs",
        str(DOCS_OUT),
        *session.posargs,
    )


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@nox.session(python=PYTHON, default=False)
def experiments(session: nox.Session) -> None:
    """Run every experiment in conf/ from the command line, as a reader would."""
    _install(session, extras="plot")
    out = Path(session.create_tmp()) / "results"
    session.run("python", "-m", "gradwatch", "list")
    session.run(
        "python",
        "-m",
        "gradwatch",
        "run",
        "--all",
        "--out",
        str(out),
        *session.posargs,
        env=ONE_THREAD,
    )


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmarks under benchmarks/ and print their table (a few minutes).

    ``-- --save`` also writes benchmarks/results/latest.json, which the Performance page shows;
    ``-- --docs`` adds the site build (a cold and a warm ``nox -s docs`` in a copy: slow). They
    need NumPy alone; the comparison with PyTorch runs only where ``torch`` is importable.
    """
    _install(session)
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def browser(session: nox.Session) -> None:
    """Test the built site in Debian's Chromium through Playwright (run ``nox -s docs`` first).

    Every page: no console error, no failed or outside request, maths typeset, figures loaded with
    alt text, no stray traceback, both themes (screenshots in docs/_build/screens/); plus search and
    downloads; plus the tests of those checks on the broken pages in tests_browser/fixtures/.
    """
    index = DOCS_OUT / "index.html"
    other_site = any(arg.startswith("--site") for arg in session.posargs)  # `-- --site DIR`
    if not other_site and not index.is_file():
        session.error(f"{index} not found: build the site first with `nox -s docs`")
    chromium = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    if not chromium.exists():
        session.error(
            f"{chromium} not found: install Debian's Chromium with "
            "`apt-get update && apt-get install -y chromium` (Playwright never downloads one here)"
        )
    _install(session, "browser")
    session.run("pytest", "tests_browser", *session.posargs, env={"CHROMIUM": str(chromium)})


if __name__ == "__main__":
    nox.main()
