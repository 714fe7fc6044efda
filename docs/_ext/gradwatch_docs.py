"""Site machinery, so that page authors only write MyST notebooks.

- **Offline MathJax**: MathJax 3 is copied from the ``django-static-mathjax`` wheel (MathJax's
  own release files, Apache-2.0) into ``_static/mathjax/``; ``conf.py`` points ``mathjax_path``
  there. No page loads anything from outside the site. It is copied, with myst-nb's style sheet,
  before any page is written, so that a first build links both with the checksum Sphinx adds to
  the files it finds, as every later build does.
- **API reference**: numpydoc headings in module docstrings become rubrics, as numpydoc
  makes them in functions' docstrings (it leaves modules alone); numpydoc's template is
  compiled once per build rather than once per docstring.
- **Failing cells**: when a cell fails the build, its source and traceback are in the log, in
  every execution mode (myst-nb shows them only in ``cache`` mode).
- **Notebook downloads**: each notebook page (a ``.md`` with a jupytext header) is converted by
  jupytext into ``_sources/<page>.ipynb``, offered by the theme's download button next to the
  ``.md`` source.
- **Run it yourself**: a short note under the title of every notebook page, written once here.
- **Execution inputs**: a notebook page re-executes when the package's sources, its own
  ``conf/<page>.toml`` or the files it lists under ``gradwatch: inputs:`` in its front matter
  change, not only its text: a hidden last cell records a hash of those inputs (jupyter-cache
  keys on the notebook's code), and a page whose inputs changed since the last build is re-read.
  The execution cache's database is created before the parallel readers start, so that a first
  build does not race to create it.
- **Encrypted kernels**: the kernels that execute the pages talk to the build over
  CurveZMQ-encrypted sockets, with keys the kernel manager provisions, so ipykernel has no
  reason to warn that it runs "over TCP without encryption".
- **Navigation depth**: the sidebar's navigation copies each listed page's whole table of
  contents before it keeps the titles only; for the API page (some 700 entries) that copy took
  about 0.1 s on each of the 62 pages the site writes. ``gradwatch_navigation_tocdepth`` bounds
  it (as the ``tocdepth`` field does), while the page's own contents panel stays complete.
- **Descriptions**: a page without ``myst: html_meta: description`` in its front matter gets
  ``<meta name="description">`` from its first paragraph.
- **Citation style** ``author_year_round``: ``{cite:t}`` gives "Glorot and Bengio (2010)",
  ``{cite:p}`` gives "(Glorot and Bengio, 2010)".
- **Bibliography style** ``gradwatch``: pybtex's ``plain``, labelled ``[GB10]`` (alpha) and with a
  thesis's ``type`` field shown ("Diploma thesis" rather than "Master's thesis").
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
import shutil
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment.adapters.toctree import document_toc
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)

# Parts of MathJax's es5/ tree the site needs: the TeX-to-CommonHTML bundle, its fonts, the TeX
# extensions it may autoload (\boldsymbol, \cancel, ...), and what the right-click menu loads
# on demand (accessibility explorer, speech rule engine).
MATHJAX_PARTS = ("tex-chtml.js", "output/chtml", "input/tex", "ui", "a11y", "sre", "adaptors")
MATHJAX_DEST = Path("_static") / "mathjax"
DESCRIPTION_LENGTH = 160
SECTION_UNDERLINE = re.compile(r"-{3,}|={3,}")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# -- Offline MathJax ----------------------------------------------------------------------------


def mathjax_source() -> Path:
    """The ``es5`` folder of the MathJax release installed by ``django-static-mathjax``."""
    try:
        root = Path(str(resources.files("mathjax"))) / "static" / "mathjax"
    except ModuleNotFoundError as exc:
        msg = (
            "MathJax is served from the site itself and comes from the 'django-static-mathjax' "
            "package: install the docs extra, pip install -e '.[docs]'"
        )
        raise RuntimeError(msg) from exc
    es5 = root / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        msg = f"no MathJax 3 release under {root}: reinstall django-static-mathjax"
        raise RuntimeError(msg)
    return es5


def copy_mathjax(app: Sphinx) -> None:
    """Copy MathJax into ``_static/mathjax`` of an HTML build (once; kept across rebuilds)."""
    if app.builder.format != "html":
        return
    source = mathjax_source()
    dest = Path(app.outdir) / MATHJAX_DEST
    stamp = dest / ".copied-from"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == str(source):
        return
    for part in MATHJAX_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, dest / part, dirs_exist_ok=True)
        else:
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / part)
    shutil.copy2(source.parent / "LICENSE", dest / "LICENSE")
    stamp.write_text(str(source), encoding="utf-8")
    logger.info("copied MathJax from %s into %s", source, dest)


def place_linked_files_first(app: Sphinx) -> None:
    """Put MathJax and myst-nb's style sheet into ``_static`` before any page is written.

    Sphinx appends a checksum (``?v=...``) to a page's link to a static file that is in the
    output folder when it writes the page; both files used to arrive at the end of the build,
    so a first build linked them without it and every later build with it. In place from the
    start, every build writes the same links.
    """
    copy_mathjax(app)
    from myst_nb.sphinx_ext import add_global_html_resources

    add_global_html_resources(app, None)


# -- API reference ------------------------------------------------------------------------------


def module_sections_as_rubrics(
    _app: Sphinx, what: str, _name: str, _obj: Any, _options: Any, lines: list[str]
) -> None:
    """Turn the numpydoc headings of a *module* docstring into rubrics.

    numpydoc parses the docstrings of functions and classes but leaves a module's alone, so its
    ``Examples`` / ``--------`` would become a real section, and two modules on one page would
    both define the id ``examples`` (a duplicate-ID error under -W). A rubric is what numpydoc
    makes of the same heading in a function's docstring.
    """
    if what != "module":
        return
    out: list[str] = []
    i = 0
    while i < len(lines):
        title = lines[i].strip()
        underline = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if title and SECTION_UNDERLINE.fullmatch(underline) and len(underline) >= len(title):
            out += [f".. rubric:: {title}", ""]
            i += 2
            continue
        out.append(lines[i])
        i += 1
    lines[:] = out


# -- Failing cells ------------------------------------------------------------------------------


def report_execution_error(app: Sphinx, exception: BaseException | None) -> None:
    """Show a failing cell's source and traceback when the build stops on it.

    With ``nb_execution_raise_on_error``, myst-nb logs the traceback before stopping the build in
    ``cache`` mode, but in ``force`` (and ``auto``, ``inline``) mode it raises straight away and
    Sphinx's crash report shows only myst-nb's own frames. The cell's error is the cause of
    that exception: print it.
    """
    if exception is None or app.config.nb_execution_mode == "cache":
        return
    from myst_nb.core.execute.base import ExecutionError

    if not isinstance(exception, ExecutionError) or exception.__cause__ is None:
        return
    cause = exception.__cause__
    text = ANSI_ESCAPE.sub("", str(cause))  # IPython colours its tracebacks; logs are plain text
    logger.error(
        "Executing notebook %s failed: %s\n%s",
        exception,
        type(cause).__name__,
        text,
        type="gradwatch",
        subtype="exec",
    )


# -- Execution inputs ---------------------------------------------------------------------------

INPUTS_CELL = """

```{{code-cell}} ipython3
:tags: [remove-cell]

# The inputs of this page's run, added by docs/_ext: a change re-executes the page.
# {digest}
```
"""


def project_root(app: Sphinx) -> Path:
    """The checkout: ``gradwatch_project_root`` if set, else the folder above ``docs/``."""
    configured = app.config.gradwatch_project_root
    return Path(configured) if configured else Path(app.confdir).resolve().parent


@functools.cache
def package_digest(root: Path) -> str:
    """Hash of the package's Python sources under ``root/src/gradwatch`` (once per build)."""
    package = root / "src" / "gradwatch"
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def page_inputs(root: Path, docname: str, declared: Sequence[str] = ()) -> str:
    """Hash of what a page's run depends on beyond its text.

    The package, the page's conf file, and the files it ``declared`` (paths relative to the
    project root, see :func:`declared_inputs`); a missing file counts as such.
    """
    digest = hashlib.sha256(package_digest(root).encode("ascii"))
    for name in (f"conf/{docname}.toml", *declared):
        path = root / name
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def declared_inputs(text: str, docname: str) -> list[str]:
    """The files a page says its run reads, under ``gradwatch: inputs:`` in its front matter.

    Beyond the package and its conf file, which every page depends on: the Performance page,
    for one, draws its tables from the saved benchmark results. Paths are relative to the
    project root.
    """
    settings = (yaml.safe_load(front_matter(text)) or {}).get("gradwatch") or {}
    inputs = settings.get("inputs", []) if isinstance(settings, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(name, str) for name in inputs):
        raise ExtensionError(
            f"{docname}: 'gradwatch: inputs:' in the front matter must be a list of paths "
            f"relative to the project root, got {inputs!r}"
        )
    return inputs


def _inputs(env: Any) -> dict[str, tuple[str, list[str]]]:
    """Each notebook page's input hash and declared input files, kept in the environment."""
    if not hasattr(env, "gradwatch_inputs"):
        env.gradwatch_inputs = {}
    return env.gradwatch_inputs  # type: ignore[no-any-return]


def front_matter(text: str) -> str:
    """The YAML between a page's opening ``---`` and the next, or "" if it has none."""
    if not text.startswith("---"):
        return ""
    return text[3:].split("\n---", 1)[0]


def is_notebook_source(text: str) -> bool:
    """Whether a page's text starts with a jupytext header naming a kernel."""
    return "kernelspec:" in front_matter(text)


def add_inputs_cell(app: Sphinx, docname: str, source: list[str]) -> None:
    """Append a hidden cell holding the page's input hash to a notebook page's text."""
    if not is_notebook_source(source[0]):
        return
    declared = declared_inputs(source[0], docname)
    digest = page_inputs(project_root(app), docname, declared)
    _inputs(app.env)[docname] = (digest, declared)
    source[0] = source[0].rstrip("\n") + INPUTS_CELL.format(digest=digest)


def outdated_by_inputs(
    app: Sphinx, env: Any, added: set[str], _changed: set[str], removed: set[str]
) -> list[str]:
    """Notebook pages whose package, conf or declared inputs changed since they were read."""
    root = project_root(app)
    return [
        docname
        for docname, (digest, declared) in _inputs(env).items()
        if docname not in removed
        and docname not in added
        and page_inputs(root, docname, declared) != digest
    ]


def purge_inputs(_app: Sphinx, env: Any, docname: str) -> None:
    _inputs(env).pop(docname, None)


def merge_inputs(_app: Sphinx, env: Any, docnames: set[str], other: Any) -> None:
    for docname in docnames:
        if docname in _inputs(other):
            _inputs(env)[docname] = _inputs(other)[docname]


# -- Notebook pages -----------------------------------------------------------------------------


def is_notebook(app: Sphinx, docname: str) -> bool:
    """Whether myst-nb read ``docname`` as a notebook (sphinx-book-theme's test)."""
    return "kernelspec" in app.env.metadata.get(docname, {})


def ipynb_uri(docname: str) -> str:
    """Where a page's notebook download lives, relative to the output root."""
    return f"_sources/{docname}.ipynb"


def write_ipynb(app: Sphinx, docname: str) -> None:
    """Convert a notebook page's source to ``.ipynb`` with jupytext, without outputs.

    The cells are named ``cell-0``, ``cell-1``, ... in order (nbformat would draw random ids).
    """
    import jupytext

    source = Path(app.env.doc2path(docname))
    target = Path(app.outdir) / ipynb_uri(docname)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix == ".ipynb":
        shutil.copy2(source, target)
        return
    notebook = jupytext.read(source)
    # nbformat gives each new cell a random id; ids by position make a rebuild write the same
    # bytes, so the download changes only when the page does.
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{number}"
    jupytext.write(notebook, target, fmt="ipynb")


class run_it_yourself(nodes.General, nodes.Element):  # noqa: N801  (docutils node naming)
    """Placeholder for the "run it yourself" note, rendered by the HTML writer."""


def add_run_note(app: Sphinx, doctree: nodes.document) -> None:
    """Put a :class:`run_it_yourself` node under the title of each notebook page."""
    docname = app.env.docname
    if not is_notebook(app, docname):
        return
    section = doctree.next_node(nodes.section)
    if section is None:
        logger.warning(
            "notebook page has no '# Title'", location=docname, type="gradwatch", subtype="page"
        )
        return
    index = 1 if section.children and isinstance(section[0], nodes.title) else 0
    source = Path(app.env.doc2path(docname))
    section.insert(index, run_it_yourself(docname=docname, source_name=source.name))


def visit_run_note_html(self: Any, node: run_it_yourself) -> None:
    docname = node["docname"]
    here = self.builder.get_target_uri(docname)
    source_suffix = Path(node["source_name"]).suffix
    ipynb = html.escape(relative_uri(here, ipynb_uri(docname)))
    source = html.escape(relative_uri(here, f"_sources/{docname}{source_suffix}"))
    name = html.escape(node["source_name"])
    self.body.append(
        '<div class="admonition tip run-it-yourself">\n'
        '<p class="admonition-title">Run it yourself</p>\n'
        f'<p>Download this page as a notebook, <a href="{ipynb}" download>'
        f"<code>{html.escape(Path(docname).name)}.ipynb</code></a>, or as its MyST source, "
        f'<a href="{source}" download><code>{name}</code></a>. In a clone of the repository run '
        '<code>pip install -e ".[plot]" jupyterlab jupytext</code> and open either file in '
        "JupyterLab (the <code>.md</code> with <em>Open With &rarr; Jupytext Notebook</em>).</p>\n"
        "</div>\n"
    )
    raise nodes.SkipNode


def skip_node(_translator: Any, _node: nodes.Element) -> None:
    raise nodes.SkipNode


def page_context(
    app: Sphinx,
    pagename: str,
    _templatename: str,
    context: dict[str, Any],
    doctree: nodes.document | None,
) -> None:
    """Write the page's ``.ipynb`` for the download button; add a meta description.

    A page whose navigation depth is bounded gets its whole contents panel all the same.
    """
    if doctree is None:
        return
    if pagename in app.config.gradwatch_navigation_tocdepth:
        context["toc"] = complete_contents(app, pagename)
    if is_notebook(app, pagename):
        write_ipynb(app, pagename)
        context["ipynb_source"] = f"{pagename}.ipynb"  # sphinx-book-theme's download button
    metatags = context.get("metatags", "")
    if 'name="description"' not in metatags:
        description = first_paragraph(doctree)
        if description:
            context["metatags"] = (
                metatags + f'<meta name="description" content="{html.escape(description)}" />\n'
            )


def bound_navigation_depth(app: Sphinx, env: Any) -> None:
    """Give each page of ``gradwatch_navigation_tocdepth`` that ``tocdepth`` before writing.

    Sphinx copies that many levels of the page's contents into every global table of contents
    (the sidebar's navigation keeps only the title of each page of them).
    """
    for docname, depth in app.config.gradwatch_navigation_tocdepth.items():
        if docname in env.metadata:
            env.metadata[docname]["tocdepth"] = depth


def complete_contents(app: Sphinx, pagename: str) -> str:
    """The HTML of a page's contents panel at full depth, whatever its ``tocdepth``."""
    metadata = app.env.metadata[pagename]
    depth = metadata.pop("tocdepth", None)
    try:
        toc = document_toc(app.env, pagename, app.builder.tags)
        return str(app.builder.render_partial(toc)["fragment"])  # type: ignore[attr-defined]
    finally:
        if depth is not None:
            metadata["tocdepth"] = depth


def first_paragraph(doctree: nodes.document) -> str:
    """The page's first paragraph of prose, shortened to about 160 characters."""
    skip = (nodes.Admonition, nodes.literal_block, nodes.container, nodes.table, nodes.figure)
    for paragraph in doctree.findall(nodes.paragraph):
        parent = paragraph.parent
        inside_skipped = False
        while parent is not None:
            if isinstance(parent, (*skip, run_it_yourself)):
                inside_skipped = True
                break
            parent = parent.parent
        if inside_skipped:
            continue
        text = " ".join(paragraph.astext().split())
        if len(text) < 20:
            continue
        if len(text) > DESCRIPTION_LENGTH:
            text = text[: DESCRIPTION_LENGTH - 1].rsplit(" ", 1)[0] + "…"
        return text
    return ""


# -- Bibliography style -------------------------------------------------------------------------


def register_bib_style() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting import toplevel
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.formatting.unsrt import date
    from pybtex.style.template import field, first_of, optional_field, sentence

    class Style(PlainStyle):  # type: ignore[misc]
        """pybtex's plain style, with alpha labels ([GB10]) and typed theses (Diploma thesis)."""

        default_label_style = "alpha"

        def get_mastersthesis_template(self, e: Any) -> Any:
            return toplevel[
                sentence[self.format_names("author")],
                self.format_title(e, "title"),
                sentence[
                    first_of[optional_field("type"), "Master's thesis"],
                    field("school"),
                    optional_field("address"),
                    date,
                ],
                sentence[optional_field("note")],
                self.format_web_refs(e),
            ]

    register_plugin("pybtex.style.formatting", "gradwatch", Style)

    # Author-year citations in round brackets: "Glorot and Bengio (2010)", "(He et al., 2015)".
    import dataclasses

    from sphinxcontrib.bibtex.plugin import (
        register_plugin as register_referencing_style,
    )
    from sphinxcontrib.bibtex.style.referencing import BracketStyle
    from sphinxcontrib.bibtex.style.referencing.author_year import (
        AuthorYearReferenceStyle,
    )

    def round_brackets() -> BracketStyle:
        return BracketStyle(left="(", right=")")

    @dataclasses.dataclass
    class RoundAuthorYear(AuthorYearReferenceStyle):  # type: ignore[misc]
        bracket_parenthetical: BracketStyle = dataclasses.field(default_factory=round_brackets)
        bracket_textual: BracketStyle = dataclasses.field(default_factory=round_brackets)
        bracket_author: BracketStyle = dataclasses.field(default_factory=round_brackets)
        bracket_label: BracketStyle = dataclasses.field(default_factory=round_brackets)
        bracket_year: BracketStyle = dataclasses.field(default_factory=round_brackets)

    register_referencing_style(
        "sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYear
    )


# -- Link check: the external links that were not fetched -----------------------------------


def list_external_links(app: Sphinx, exception: BaseException | None) -> None:
    """After a link check, write the external links it ignored to ``external.txt``.

    The build machines reach no web site, so ``conf.py`` ignores every http(s) URL; Sphinx
    reports ignored links in ``output.json`` only. One line per link: ``page:line: uri``.
    """
    if exception is not None or app.builder.name != "linkcheck":
        return
    report = Path(app.outdir) / "output.json"
    if not report.is_file():
        return
    entries = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines() if line]
    external = sorted(
        {f"{e['filename']}:{e['lineno']}: {e['uri']}" for e in entries if e["status"] == "ignored"}
    )
    target = Path(app.outdir) / "external.txt"
    target.write_text("".join(f"{line}\n" for line in external), encoding="utf-8")
    logger.info("%d external links not fetched, listed in %s", len(external), target)


# -- A configuration that is the same on every build ------------------------------------------


def drop_duplicate_templates(app: Sphinx) -> None:
    """Keep one copy of each folder in ``templates_path``.

    The themes append their components folders when they are loaded, after ``conf.py`` (which
    lists them already) has been compared with the saved configuration; without this the list
    saved with the environment would never equal the next build's, and Sphinx would rewrite
    every page of a warm build.
    """
    app.config.templates_path[:] = list(dict.fromkeys(app.config.templates_path))


def create_execution_cache(app: Sphinx) -> None:
    """Create jupyter-cache's database before the parallel readers start.

    jupyter-cache creates its SQLite tables the first time a process opens the cache. With
    ``-j`` and no ``docs/_build/.jupyter_cache`` yet (a first build, or after ``rm -r _build``),
    every forked reader opened it at once and all but one failed with "table settings already
    exists". Opened here, in the main process after myst-nb has set the cache path, the tables
    exist before any reader is forked.
    """
    if app.config.nb_execution_mode != "cache":
        return
    from jupyter_cache import get_cache

    get_cache(app.env.mystnb_config.execution_cache_path).get_cache_limit()


# -- numpydoc's template, compiled once ---------------------------------------------------------


def compile_numpydoc_template_once(_app: Sphinx) -> None:
    """Make numpydoc render every docstring with one compiled template per build.

    numpydoc builds a Jinja environment and compiles its ``numpydoc_docstring.rst`` template
    for each docstring and each signature it processes: about 1,800 times for the API page,
    some 2 s of the 24 s that page took to read and write. Its ``get_doc_object`` is meant to
    be replaced (``numpydoc.setup`` takes one); the one set here does what numpydoc's does,
    with the template compiled on first use and kept for the rest of the build.
    """
    import numpydoc.numpydoc
    from jinja2 import FileSystemLoader
    from jinja2.sandbox import SandboxedEnvironment
    from numpydoc import docscrape, docscrape_sphinx
    from sphinx.jinja2glue import BuiltinTemplateLoader

    folders = [str(Path(docscrape_sphinx.__file__).parent / "templates")]

    @functools.cache
    def template(builder: Any) -> Any:
        loader: Any = FileSystemLoader(folders)
        if builder is not None:  # the theme's templates may override numpydoc's
            loader = BuiltinTemplateLoader()
            loader.init(builder, dirs=folders)
        return SandboxedEnvironment(loader=loader).get_template("numpydoc_docstring.rst")

    def get_doc_object(
        obj: Any, what: Any = None, doc: Any = None, config: Any = None, builder: Any = None
    ) -> Any:
        config = {} if config is None else config
        config["template"] = template(builder)
        return docscrape.get_doc_object(
            obj,
            what=what,
            doc=doc,
            config=config,
            class_doc=docscrape_sphinx.SphinxClassDoc,
            func_doc=docscrape_sphinx.SphinxFunctionDoc,
            obj_doc=docscrape_sphinx.SphinxObjDoc,
        )

    numpydoc.numpydoc.get_doc_object = get_doc_object  # type: ignore[assignment]


# -- Set-up -------------------------------------------------------------------------------------


def encrypt_page_kernels() -> None:
    """Start every page's kernel with CurveZMQ keys provisioned by its kernel manager.

    ipykernel warns, once per kernel, that it runs "over TCP without encryption" unless the
    manager that starts it hands it CurveZMQ keys. jupyter_client provisions them when the
    manager's ``transport_encryption`` policy asks for it (and ipykernel's kernelspec declares
    ``curve`` support), but the managers that execute pages are created by nbclient, deep inside
    myst-nb and jupyter-cache, without any configuration. nbclient looks its manager class up as
    ``jupyter_client.AsyncKernelManager`` each time it starts a kernel, so that name is bound here,
    in the build process only, to a subclass whose policy is ``"required"``: a kernel that cannot
    be encrypted then fails the build instead of running in plain text. Sphinx's parallel readers
    are forked from this process and inherit it.
    """
    import jupyter_client
    from traitlets import default

    base = jupyter_client.AsyncKernelManager
    if getattr(base, "gradwatch_curve", False):
        return  # already bound (Sphinx may load the extension twice in one process)

    class CurveKernelManager(base):  # type: ignore[misc, valid-type]
        """A kernel manager that always provisions CurveZMQ keys for its kernel."""

        gradwatch_curve = True

        @default("transport_encryption")
        def _always_encrypt(self) -> str:
            return "required"

    jupyter_client.AsyncKernelManager = CurveKernelManager


def setup(app: Sphinx) -> dict[str, Any]:
    register_bib_style()
    encrypt_page_kernels()
    mathjax_source()  # fail early, with the fix, when the package is missing
    app.add_node(
        run_it_yourself,
        html=(visit_run_note_html, None),
        latex=(skip_node, None),
        text=(skip_node, None),
        man=(skip_node, None),
        texinfo=(skip_node, None),
    )
    app.connect("builder-inited", drop_duplicate_templates, priority=900)
    app.connect("builder-inited", create_execution_cache, priority=900)  # after myst-nb's (500)
    app.connect("builder-inited", compile_numpydoc_template_once)
    app.connect("builder-inited", place_linked_files_first)
    app.connect("autodoc-process-docstring", module_sections_as_rubrics)
    app.connect("source-read", add_inputs_cell)
    app.connect("env-get-outdated", outdated_by_inputs)
    app.connect("env-purge-doc", purge_inputs)
    app.connect("env-merge-info", merge_inputs)
    app.connect("doctree-read", add_run_note)
    app.connect("env-updated", bound_navigation_depth)
    app.connect("html-page-context", page_context)
    app.add_config_value("gradwatch_project_root", "", "env", types=frozenset({str}))
    app.add_config_value("gradwatch_navigation_tocdepth", {}, "html", types=frozenset({dict}))
    app.connect("build-finished", list_external_links)
    app.connect("build-finished", report_execution_error)
    return {
        "version": "1.0",
        "env_version": 2,  # 2: each page's stored inputs are (digest, declared files)
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }
