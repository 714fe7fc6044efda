"""The project's one entry point: ``nox -s tests``, ``nox -s docs``, ``nox -s lint`` and friends.

Every session installs what it needs into its own virtual environment (uv when it is there, which
``pip install 'nox[uv]'`` brings), so a machine with Python 3.11 and pip is enough.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint", "docs"]

ROOT = Path(__file__).parent
DOCS_OUT = ROOT / "docs" / "_build" / "html"
PYTHON = "3.11"
# uv skips .pyc files when PYTHONDONTWRITEBYTECODE is set; compiled files keep warm builds fast.
ENV = {"UV_COMPILE_BYTECODE": "1"}
# One BLAS thread while pages execute: the same summation order on every machine (so a rebuild
# gives the same numbers everywhere) and no thread contention for the pages' small products.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _install(session: nox.Session, *extras: str) -> None:
    session.install("-e", f".[{','.join(extras)}]", env=ENV)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite, the doctests of the package and the README."""
    _install(session, "test")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff (lint and format check) and mypy in strict mode on the package."""
    _install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


def _sphinx_args(session: nox.Session, builder: str, out: Path) -> list[str]:
    args = ["-n", "-W", "--keep-going", "-b", builder, "docs", str(out)]
    # jupyter-cache keys on the notebook text alone, so a change in src/ would not re-run a page:
    # CI (and anyone who asks with `nox -s docs -- --force`) executes every page afresh.
    if os.environ.get("CI") or "--force" in session.posargs:
        args += ["-D", "nb_execution_mode=force"]
    return args


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the site into docs/_build/html, executing every page (never serves).

    Then prove the build's guard: tests/test_docs_build.py builds a page whose cell raises, with
    the same configuration, and expects the build to fail with the cell's traceback in its log.
    """
    _install(session, "docs", "test")
    session.run("sphinx-build", *_sphinx_args(session, "html", DOCS_OUT), env=ONE_THREAD)
    session.log(f"Built {DOCS_OUT / 'index.html'}")
    session.run("pytest", "tests/test_docs_build.py")


@nox.session(python=PYTHON)
def linkcheck(session: nox.Session) -> None:
    """Check the site's links into docs/_build/linkcheck (report in output.txt and output.json).

    Internal links, cross-references and citations must resolve: the build runs with -n -W. External
    URLs are listed in the report but not fetched, because the build machines reach no web site
    (docs/conf.py ignores every http(s) URL); GRADWATCH_LINKCHECK_EXTERNAL=1 fetches them too.
    Pages execute as in a local build (jupyter-cache), never forced: only the links matter here.
    """
    _install(session, "docs")
    out = ROOT / "docs" / "_build" / "linkcheck"
    session.run(
        "sphinx-build",
        "-n",
        "-W",
        "--keep-going",
        "-b",
        "linkcheck",
        "docs",
        str(out),
        env=ONE_THREAD,
    )
    session.log(f"Link report: {out / 'output.txt'}")


@nox.session(name="docs-live", python=PYTHON)
def docs_live(session: nox.Session) -> None:
    """Serve the site on http://127.0.0.1:8000 and rebuild it on every change (for authors)."""
    _install(session, "docs")
    session.install("sphinx-autobuild==2025.8.25", env=ENV)
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
        "--ignore",
        "docs/_build",
        "docs",
        str(DOCS_OUT),
    )


@nox.session(python=PYTHON)
def experiments(session: nox.Session) -> None:
    """Run every experiment in conf/ from the command line, as a reader would."""
    _install(session, "plot")
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


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks under benchmarks/ and print their table (a few minutes).

    ``-- --save`` also writes benchmarks/results/latest.json, which the Performance page shows;
    ``-- --docs`` adds the site build (a cold and a warm ``nox -s docs`` in a copy: slow). They
    need NumPy alone; the comparison with PyTorch runs only where ``torch`` is importable.
    """
    session.install("-e", ".", env=ENV)
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(python=PYTHON)
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
