"""The documentation build: failing cells fail it, and rebuilds never show stale results.

Each test builds a one-page site in a temporary folder with the site's own configuration
(``docs/conf.py``, ``docs/_ext``, ``docs/_static``, ``docs/refs.bib``) and a fixture page from
``tests/fixtures/docs/`` as its root, with the flags ``nox -s docs`` uses (``-n -W --keep-going``)
and forced execution as in CI (the failing page also in the authors' ``cache`` mode). The control
page must build; the failing one must not, and its log must show the cell and the traceback.

The other tests build a miniature checkout (``docs/``, ``conf/``, ``data/``, ``src/gradwatch/``)
to show that a plain rebuild re-executes a page whose conf file, package sources or declared
input files changed and rewrites nothing when nothing changed, that ``--force`` always executes,
that pages get one BLAS thread whoever builds, that the API page's contents panel stays complete
while the navigation copies only three levels of it, that a first build links MathJax and the
notebook styles as a rebuild does, and that the link check lists the external links it did not
fetch.

The last tests call the site extension's hooks directly: the execution cache's database exists
before Sphinx forks its parallel readers, numpydoc renders the same text with its template
compiled once, and a page's declared inputs are read from its front matter and checked.

These tests need the docs toolchain (the docs dependency group), which ``nox -s tests`` installs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

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
    # The page's kernel was started with CurveZMQ keys, so ipykernel had nothing to warn about.
    assert "without encryption" not in output
    html = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "A page whose cells run" in html
    # A cell tagged raises-exception shows its error and does not fail the build.
    assert "an error shown on purpose does not fail the build" in html
    # The notebook offered for download names its cells by position, not at random, so that a
    # rebuild writes the same file.
    notebook = json.loads((tmp_path / "html" / "_sources" / "index.ipynb").read_text("utf-8"))
    ids = [cell["id"] for cell in notebook["cells"]]
    assert len(ids) > 2
    assert ids == [f"cell-{number}" for number in range(len(ids))]


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


# -- The author's loop: rebuilds see what a page depends on ---------------------------------------


def make_project(tmp_path: Path, page: str) -> Path:
    """A checkout in miniature: docs/ (our configuration and one page), conf/ and src/gradwatch/."""
    project = tmp_path / "project"
    docs = project / "docs"
    docs.mkdir(parents=True)
    shutil.copy2(DOCS / "conf.py", docs / "conf.py")
    shutil.copy2(DOCS / "refs.bib", docs / "refs.bib")
    shutil.copytree(DOCS / "_ext", docs / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(DOCS / "_static", docs / "_static")
    shutil.copy2(FIXTURES / page, docs / "index.md")
    (project / "conf").mkdir()
    (project / "conf" / "index.toml").write_text("value = 1\n", encoding="utf-8")
    (project / "data").mkdir()
    (project / "data" / "value.txt").write_text("1\n", encoding="utf-8")  # declared by the page
    (project / "src" / "gradwatch").mkdir(parents=True)
    (project / "src" / "gradwatch" / "module.py").write_text("X = 1\n", encoding="utf-8")
    return project


def sphinx(project: Path, *options: str, builder: str = "html", env: dict[str, str] | None = None):
    """Run sphinx-build on the project's docs/ as `nox -s docs` does, plus ``options``."""
    command = [sys.executable, "-m", "sphinx", "-n", "-W", "--keep-going", "-b", builder]
    command += [*options, str(project / "docs"), str(project / "docs" / "_build" / builder)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=project,
        env=env,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def page_html(project: Path) -> str:
    return (project / "docs" / "_build" / "html" / "index.html").read_text(encoding="utf-8")


EXECUTED = "Executing notebook"


def test_a_forced_build_executes_every_time(tmp_path: Path) -> None:
    project = make_project(tmp_path, "reads_conf.md")
    force = ("-E", "-D", "nb_execution_mode=force")  # what `nox -s docs -- --force` passes
    assert EXECUTED in sphinx(project, *force)
    (project / "conf" / "index.toml").write_text("value = 2\n", encoding="utf-8")
    assert EXECUTED in sphinx(project, *force)
    assert "value from conf: 2" in page_html(project)


def test_a_plain_rebuild_follows_conf_and_package_changes(tmp_path: Path) -> None:
    project = make_project(tmp_path, "reads_conf.md")
    assert EXECUTED in sphinx(project)
    assert "value from conf: 1" in page_html(project)
    # Nothing changed: the cached run is reused and no page is rewritten.
    quiet = sphinx(project)
    assert EXECUTED not in quiet
    assert "configuration has changed" not in quiet, quiet
    assert "0 source files that are out of date" in quiet, quiet
    # The page's conf file changed: the page runs again and shows the new value.
    (project / "conf" / "index.toml").write_text("value = 2\n", encoding="utf-8")
    assert EXECUTED in sphinx(project)
    assert "value from conf: 2" in page_html(project)
    # The package's sources changed: the page runs again too.
    (project / "src" / "gradwatch" / "module.py").write_text("X = 2\n", encoding="utf-8")
    assert EXECUTED in sphinx(project)
    # A file the page declares under `gradwatch: inputs:` changed: it runs again.
    assert "value from data: 1" in page_html(project)
    (project / "data" / "value.txt").write_text("2\n", encoding="utf-8")
    assert EXECUTED in sphinx(project)
    assert "value from data: 2" in page_html(project)


def test_pages_execute_with_one_blas_thread_whoever_builds(tmp_path: Path) -> None:
    project = make_project(tmp_path, "reads_conf.md")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    sphinx(project, env=env)  # a plain sphinx-build, as Read the Docs runs it
    assert "BLAS threads: 1" in page_html(project)


def test_the_api_page_shows_all_its_contents_and_lends_the_navigation_three_levels(
    tmp_path: Path,
) -> None:
    # Copying the API page's whole contents into the navigation of every page slowed writing the
    # site by seconds; conf.py bounds that copy to three levels, and the page's own contents
    # panel must still reach its fourth (a class's methods).
    project = make_project(tmp_path, "reads_conf.md")
    docs = project / "docs"
    (docs / "index.md").write_text("# Home\n\n```{toctree}\napi\n```\n", encoding="utf-8")
    api = "# API\n\n## Networks\n\n### The MLP class\n\n#### Its forward method\n\nText.\n"
    (docs / "api.md").write_text(api, encoding="utf-8")
    sphinx(project)
    html = docs / "_build" / "html"
    page = (html / "api.html").read_text(encoding="utf-8")
    contents = page[page.index('id="pst-page-toc-nav"') :]
    assert "Its forward method" in contents[: contents.index("</nav>")]
    with (html / ".doctrees" / "environment.pickle").open("rb") as stream:
        env = pickle.load(stream)
    assert env.metadata["api"]["tocdepth"] == 3
    home = (html / "index.html").read_text(encoding="utf-8")
    assert "api.html" in home
    assert "Its forward method" not in home


def test_a_first_build_links_mathjax_and_the_notebook_styles_as_every_later_one(
    tmp_path: Path,
) -> None:
    # Sphinx appends a checksum to the links of static files it finds in the output folder; both
    # files used to be copied at the end of the build, so the first build wrote other links.
    project = make_project(tmp_path, "reads_conf.md")
    page = project / "docs" / "index.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSome maths: $x^2$.\n", encoding="utf-8")
    sphinx(project)
    first = page_html(project)
    assert re.search(r'src="_static/mathjax/tex-chtml\.js\?v=[0-9a-f]+"', first), first[:3000]
    assert re.search(r'href="_static/mystnb\.[0-9a-f]+\.css\?v=[0-9a-f]+"', first)
    sphinx(project, "-E")  # every page written again, into the same folder
    assert page_html(project) == first


def test_linkcheck_lists_the_external_links_it_did_not_fetch(tmp_path: Path) -> None:
    project = make_project(tmp_path, "reads_conf.md")
    sphinx(project, builder="linkcheck")
    report = project / "docs" / "_build" / "linkcheck" / "external.txt"
    listed = report.read_text(encoding="utf-8")
    assert "https://example.org/gradwatch-linkcheck-fixture" in listed


def load_file(name: str, path: Path) -> ModuleType:
    """Import the Python file at ``path`` as a module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nox_force_rereads_and_reexecutes_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("nox", reason="nox is in the test dependency group")
    noxfile = load_file("_gradwatch_noxfile", ROOT / "noxfile.py")
    monkeypatch.delenv("CI", raising=False)
    session = type("Session", (), {"posargs": ["--force"]})()
    args = noxfile._sphinx_args(session, "html", ROOT / "out")
    assert "-E" in args
    assert "nb_execution_mode=force" in args
    session.posargs = []
    assert "-E" not in noxfile._sphinx_args(session, "html", ROOT / "out")


def load_site_extension() -> ModuleType:
    return load_file("_gradwatch_docs_ext", DOCS / "_ext" / "gradwatch_docs.py")


@pytest.mark.parametrize("mode", ["cache", "force"])
def test_the_execution_cache_exists_before_the_parallel_readers_start(
    tmp_path: Path, mode: str
) -> None:
    # A first `-j auto` build forked readers that each created jupyter-cache's tables at once and
    # failed with "table settings already exists"; the main process now creates them first.
    pytest.importorskip("jupyter_cache", reason=NO_TOOLCHAIN)
    extension = load_site_extension()
    cache = tmp_path / ".jupyter_cache"
    app = SimpleNamespace(
        config=SimpleNamespace(nb_execution_mode=mode),
        env=SimpleNamespace(mystnb_config=SimpleNamespace(execution_cache_path=str(cache))),
    )
    extension.create_execution_cache(app)
    database = cache / "global.db"
    if mode == "force":  # no cache is used, so none is made
        assert not database.exists()
        return
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"settings", "nbcache", "nbproject"} <= tables, tables


def test_numpydoc_renders_as_before_with_its_template_compiled_once() -> None:
    numpydoc = pytest.importorskip("numpydoc.numpydoc", reason=NO_TOOLCHAIN)
    from numpydoc import docscrape_sphinx

    import gradwatch as gw

    extension = load_site_extension()
    original = numpydoc.get_doc_object
    try:
        extension.compile_numpydoc_template_once(None)
        cached = numpydoc.get_doc_object
        assert cached is not original
        for obj in (gw.clip.clip_by_global_norm, gw.MLP, gw.optim.Adam):
            first, second = cached(obj, config={}), cached(obj, config={})
            assert first.template is second.template  # compiled once, then reused
            assert str(first) == str(docscrape_sphinx.get_doc_object(obj, config={}))
    finally:
        numpydoc.get_doc_object = original


def test_declared_inputs_are_read_from_the_front_matter_and_checked() -> None:
    extension = load_site_extension()
    header = "---\nkernelspec:\n  name: python3\ngradwatch:\n  inputs: [{}]\n---\n# Page\n"
    declared = extension.declared_inputs(header.format("a/b.json, c.py"), "page")
    assert declared == ["a/b.json", "c.py"]
    assert extension.declared_inputs("---\nkernelspec:\n  name: python3\n---\n", "page") == []
    errors = pytest.importorskip("sphinx.errors", reason=NO_TOOLCHAIN)
    for bad in ("1, 2", "[a.json]"):  # numbers; a list inside the list
        with pytest.raises(errors.ExtensionError, match=r"page: 'gradwatch: inputs:'.*list"):
            extension.declared_inputs(header.format(bad), "page")
    with pytest.raises(errors.ExtensionError, match=r"got 'a\.json'"):
        extension.declared_inputs(header.replace("[{}]", "a.json"), "page")
