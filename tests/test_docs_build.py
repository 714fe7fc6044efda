"""The documentation build fails on a failing cell, and shows the cell and its traceback.

Each test builds a one-page site in a temporary folder with the site's own configuration
(``docs/conf.py``, ``docs/_ext``, ``docs/_static``, ``docs/refs.bib``) and a fixture page from
``tests/fixtures/docs/`` as its root, with the flags ``nox -s docs`` uses (``-n -W --keep-going``)
and forced execution as in CI (the failing page also in the authors' ``cache`` mode). The control
page must build; the failing one must not, and its log must show the cell and the traceback.

These tests need the docs toolchain (``pip install -e '.[docs]'``) and are skipped without it;
``nox -s docs`` installs it and runs them after building the site.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NO_TOOLCHAIN = "the docs toolchain is not installed: pip install -e '.[docs]'"
pytest.importorskip("sphinx", reason=NO_TOOLCHAIN)
pytest.importorskip("myst_nb", reason=NO_TOOLCHAIN)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIXTURES = ROOT / "tests" / "fixtures" / "docs"
TIMEOUT = 600  # seconds; a build starts one Jupyter kernel


def build(tmp_path: Path, page: str, mode: str = "force") -> subprocess.CompletedProcess[str]:
    """Build ``page`` (a fixture) as the root of a site configured like ours."""
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy2(DOCS / "conf.py", source / "conf.py")
    shutil.copy2(DOCS / "refs.bib", source / "refs.bib")
    shutil.copytree(DOCS / "_ext", source / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(DOCS / "_static", source / "_static")
    shutil.copy2(FIXTURES / page, source / "index.md")
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-n",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "-D",
        f"nb_execution_mode={mode}",
        str(source),
        str(tmp_path / "html"),
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=tmp_path,
    )


def test_control_page_builds(tmp_path: Path) -> None:
    result = build(tmp_path, "passing_cell.md")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    html = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "A page whose cells run" in html
    # A cell tagged raises-exception shows its error and does not fail the build.
    assert "an error shown on purpose does not fail the build" in html


@pytest.mark.parametrize("mode", ["force", "cache"])  # CI's mode and the authors' default
def test_failing_cell_fails_the_build_with_its_traceback(tmp_path: Path, mode: str) -> None:
    result = build(tmp_path, "failing_cell.md", mode)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    # The log names the failure, shows the exception and its message ...
    assert "RuntimeError" in output, output
    assert "deliberate failure in a docs cell: 1.0" in output, output
    # ... and the traceback through the cell's source, down to the line that raised.
    assert "Traceback" in output or "----> " in output, output
    assert "broken_step(numerator)" in output, output
    assert 'raise RuntimeError(f"deliberate failure in a docs cell: {value}")' in output, output
    assert not (tmp_path / "html" / "index.html").exists()
