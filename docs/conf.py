"""Sphinx configuration of the gradwatch site.

Every page is a MyST notebook executed at build time by myst-nb. Build with ``nox -s docs``
(``sphinx-build -n -W --keep-going``); CI adds ``-D nb_execution_mode=force``.

The site makes no request outside itself: MathJax is copied from the ``django-static-mathjax``
wheel into ``_static/mathjax/`` (``docs/_ext/gradwatch_docs.py``), the theme's fonts and icons are
bundled with it, there is no intersphinx, no analytics and no ipywidgets loader.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from importlib.metadata import version as _version
from pathlib import Path

import pydata_sphinx_theme
import sphinx_book_theme

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

# -- Where the pages execute -------------------------------------------------------------------
# One BLAS thread in every kernel, whoever builds (nox, Read the Docs, a plain sphinx-build): the
# same summation order everywhere, so every build gives the same numbers and the same figures.
# The kernels inherit this process's environment.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

# -- Project -----------------------------------------------------------------------------------

project = "gradwatch"
author = "The gradwatch developers"
copyright = f"{date.today().year}, {author}"
try:
    release = _version("gradwatch")
except Exception:  # building from a tree where the package is not installed
    release = "unknown"
version = release
language = "en"

extensions = [
    "myst_nb",  # brings myst_parser: .md pages, MyST notebooks and .ipynb
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinxcontrib.bibtex",
    "sphinx_sitemap",
    "gradwatch_docs",  # docs/_ext: offline MathJax, .ipynb downloads, run-it-yourself note
]

root_doc = "index"
exclude_patterns = [
    "_build",
    "jupyter_execute",
    "**/.ipynb_checkpoints",
    "fixtures",
    "tests",
    "_ext",
    "Thumbs.db",
    ".DS_Store",
]
# The themes fill in some options as the build starts (their component folders in
# templates_path, html_css_files, html_permalinks_icon, two entries of html_theme_options); giving
# them those values here (docs/_ext drops the folders the themes append again) keeps the
# configuration the same from one build to the next, so a warm rebuild rewrites nothing.
templates_path = [
    str(Path(_theme.__file__).parent / "theme" / _theme.__name__ / "components")
    for _theme in (sphinx_book_theme, pydata_sphinx_theme)
]
numfig = True  # {numref}`fig-...` gives "Fig. 3"
numfig_secnum_depth = 0
pygments_style = "sphinx"
pygments_dark_style = "monokai"

# -- Cross-references (nitpicky: every reference must resolve) -------------------------------

nitpicky = True  # as -n, also for builds that do not pass it (Read the Docs)
# No intersphinx: it would fetch inventories from the network at build time. Names from NumPy,
# the standard library and the words numpydoc type lines use stay plain text instead of warnings.

nitpick_ignore = [
    ("py:class", "optional"),
    ("py:class", "default"),
    ("py:class", "array_like"),
    ("py:class", "array-like"),
    ("py:class", "ndarray"),
    ("py:class", "Generator"),
    ("py:class", "callable"),
    ("py:class", "sequence"),
    ("py:class", "iterable"),
    ("py:class", "mapping"),
    ("py:class", "path-like"),
    ("py:class", "Array"),
]
nitpick_ignore_regex = [
    # Private base classes that show-inheritance names (their public members are documented),
    # and classes of private modules (experiments._common).
    (r"py:class", r"gradwatch\.[a-z_.]*\._[A-Za-z]\w*(\.\w+)*"),
    # NumPy and its typing aliases, however spelled: np.ndarray, numpy.random.Generator, ...
    (r"py:.*", r"(np|numpy|npt)(\..+)?"),
    # The standard library (no Python inventory either): copy.deepcopy, collections.abc, ...
    (
        r"py:.*",
        (
            r"(abc|collections|contextlib|copy|dataclasses|datetime|enum|functools|io|itertools|"
            r"json|logging|math|numbers|operator|os|pathlib|random|re|statistics|sys|time|"
            r"tomllib|types|typing|typing_extensions|warnings)\..+"
        ),
    ),
    # Built-in types and constants (the Python inventory is not loaded).
    (
        r"py:.*",
        (
            r"(int|float|complex|bool|str|bytes|list|tuple|dict|set|frozenset|object|type|None|"
            r"Callable|Sequence|Iterable|Iterator|Mapping|Path|Any|Literal|Self|TypeAlias)"
        ),
    ),
    (r"py:exc", r"[A-Za-z]*(Error|Exception|Warning)"),
    # Shapes and defaults in numpydoc type lines: "(n_samples, n_in) ndarray", "default 2.0".
    (r"py:class", r"\(.*\)|default.*|shape.*|of|or|\{.*\}|.*[\"'].*"),
    # matplotlib objects named by the plotting helpers.
    (r"py:.*", r"(matplotlib|mpl|plt)(\..+)?|Axes|Figure"),
]

# -- API reference (autodoc + numpydoc) ----------------------------------------------------------
# Types are written in the numpydoc "Parameters" lines (shapes included), so signatures show names
# only: annotations such as NDArray[np.float64] would be long and unresolvable without intersphinx.

autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
numpydoc_show_class_members = False  # autosummary tables of members would need stub pages
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

# -- MyST and myst-nb ---------------------------------------------------------------------------

myst_enable_extensions = [
    "amsmath",
    "colon_fence",
    "deflist",
    "dollarmath",
    "fieldlist",
    "substitution",
    "attrs_inline",
    "attrs_block",
]
myst_heading_anchors = 3  # [text](page.md#a-heading) links check at build time
myst_dmath_double_inline = True

# "cache" for authors (jupyter-cache in docs/_build/.jupyter_cache re-runs a page when its code
# changes); CI forces a fresh run with -D nb_execution_mode=force because the cache does not see
# changes in src/ or conf/.
nb_execution_mode = "cache"
if os.environ.get("READTHEDOCS") == "True":  # Read the Docs runs sphinx-build itself, without -D
    nb_execution_mode = "force"
nb_execution_raise_on_error = True  # a failing cell fails the build ...
nb_execution_show_tb = True  # ... with its source and traceback in the log (_ext: in every mode)
nb_execution_timeout = 300  # seconds per cell
nb_execution_allow_errors = False  # only cells tagged raises-exception may fail
nb_execution_in_temp = False  # run in docs/, so pages see the repository layout
nb_execution_excludepatterns = ["_build/**", "jupyter_execute/**", "**/.ipynb_checkpoints/**"]
nb_merge_streams = True
nb_output_stderr = "show"
nb_ipywidgets_js: dict[str, dict[str, str]] = {}  # never load require.js from a CDN
nb_render_markdown_format = "myst"  # Markdown outputs (IPython.display.Markdown) may hold tables
nb_render_image_options: dict[str, str] = {}
nb_number_source_lines = False

# -- Bibliography -------------------------------------------------------------------------------

bibtex_bibfiles = ["refs.bib"]
bibtex_default_style = "gradwatch"  # pybtex "plain", alpha labels, typed theses (_ext)
# {cite:t}`glorot2010` gives "Glorot and Bengio (2010)", {cite:p}`glorot2010` gives
# "(Glorot and Bengio, 2010)": author_year in round brackets (defined in _ext).
bibtex_reference_style = "author_year_round"

# -- HTML ---------------------------------------------------------------------------------------

html_theme = "sphinx_book_theme"
html_title = "gradwatch"
html_short_title = "gradwatch"
html_static_path = ["_static"]
html_css_files = [("gradwatch.css", {"priority": 800})]
html_permalinks_icon = "#"
html_favicon = "_static/favicon.svg"
html_logo = "_static/logo.svg"
html_copy_source = True  # _sources/<page>.md behind the theme's download button
html_sourcelink_suffix = ""  # _sources/<page>.md, not .md.txt (the note links to it)
html_show_sourcelink = True
html_last_updated_fmt = None
# Light or dark from the reader's system, switchable; "auto" stated, or the theme's script logs
# "Got invalid theme mode" to the console on a reader's first visit.
html_context = {"default_mode": "auto"}
# The navigation lists the API page by its title; copying its whole contents (classes and their
# methods, some 700 entries) into the navigation of every page, only to drop them there, made
# writing the site seconds slower. Its own contents panel still lists every method (docs/_ext).
gradwatch_navigation_tocdepth = {"api": 3}

html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,  # .md source, .ipynb (made by gradwatch_docs) and print-to-PDF
    "use_fullscreen_button": True,
    "use_repository_button": False,
    "use_source_button": False,
    "use_issues_button": False,
    "use_edit_page_button": False,
    "navigation_with_keys": False,
    "logo": {"text": "gradwatch", "alt_text": "gradwatch: home"},
    # No launch buttons (Binder, Colab, Thebe): they load code from outside the site.
    "launch_buttons": {},
    "navbar_persistent": ["search-button-field"],
    "icon_links": [],
}

# Where the site is published: Read the Docs sets READTHEDOCS_CANONICAL_URL; the default is the
# project's Read the Docs address. It feeds <link rel="canonical"> and the sitemap.
html_baseurl = os.environ.get(
    "READTHEDOCS_CANONICAL_URL", "https://gradwatch.readthedocs.io/en/latest/"
)
sitemap_url_scheme = "{link}"
sitemap_filename = "sitemap.xml"
sitemap_excludes = ["search.html", "genindex.html", "py-modindex.html", "_modules/*"]

# MathJax 3 from the site itself (copied at build time from the django-static-mathjax wheel).
mathjax_path = "mathjax/tex-chtml.js"
# A MathJax 3 configuration (the classes are myst-parser's defaults, restated so that myst-parser
# updates this dict and Sphinx writes a v3 configuration, not a v4 one).
mathjax3_config = {
    "options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"},
}

# -- Link check (nox -s linkcheck) --------------------------------------------------------------
# Internal links and cross-references are checked by the build itself (-n -W). External URLs are
# listed in docs/_build/linkcheck/output.txt but not fetched unless GRADWATCH_LINKCHECK_EXTERNAL=1:
# the build machines reach no web site, only package registries.
if os.environ.get("GRADWATCH_LINKCHECK_EXTERNAL") != "1":
    linkcheck_ignore = [r"https?://.*"]
linkcheck_anchors = True
linkcheck_timeout = 15
linkcheck_retries = 2
