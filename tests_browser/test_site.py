"""Every page of the built site, in Chromium, as a reader meets it.

Pages are found in the built HTML: every ``*.html`` outside the underscore folders (``_static``,
``_sources``, ``_images``, ``_downloads``...), so genindex and search are loaded and checked too.
The content checks (download button, search) apply to the other pages, which have a source.
A test per page runs every check on it and reports all that failed, by check.
Screenshots of each page in each theme go to ``docs/_build/screens/<page>-<theme>.png``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sitechecks
from playwright.sync_api import Page

# Built by Sphinx without a source of their own: no download button, nothing to search for.
GENERATED = {"genindex.html", "search.html", "py-modindex.html"}
DOCS_SOURCE = Path(__file__).resolve().parents[1] / "docs"
DEFAULT_SITE = DOCS_SOURCE / "_build" / "html"
WORD = re.compile(r"[A-Za-z][a-z]{6,}")


def site_pages(site: Path) -> list[str]:
    """List every HTML page of the site, as a path relative to its root (``index.html``)."""
    return sorted(
        path.relative_to(site).as_posix()
        for path in site.rglob("*.html")
        if not any(part.startswith(("_", ".")) for part in path.relative_to(site).parts)
    )


def source_of(site: Path, page: str) -> Path | None:
    """Return the page's source as Sphinx copied it (``_sources/foo.md`` for ``foo.html``)."""
    stem = page.removesuffix(".html")
    # The .md (or .md.txt) first: the build also puts each page's .ipynb beside it.
    candidates = sorted(
        (site / "_sources").glob(f"{stem}.*"), key=lambda path: ".md" not in path.suffixes
    )
    return candidates[0] if candidates else None


def is_notebook(source: Path | None) -> bool:
    """Tell a MyST notebook by its front matter, which names a kernel (the jupytext header)."""
    if source is None or source.suffix not in {".md", ".txt", ".ipynb"}:
        return False
    if source.suffix == ".ipynb":
        return True
    front = re.match(r"---\n(.*?)\n---\n", source.read_text(encoding="utf-8"), re.DOTALL)
    return bool(front and "kernelspec:" in front.group(1))


class _ProseParser(HTMLParser):
    """Words of the page's ``<article>``, outside code and math: what Sphinx's search indexes."""

    SKIP = frozenset({"pre", "code", "script", "style", "math", "mjx-container"})
    VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "wbr", "source", "col", "area"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: is it skipped?
        self.in_article = 0
        self.words: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        skip = tag in self.SKIP or "math" in classes or "highlight" in classes
        self.stack.append(skip)
        if tag == "article":
            self.in_article += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID or not self.stack:
            return
        self.stack.pop()
        if tag == "article":
            self.in_article -= 1

    def handle_data(self, data: str) -> None:
        if self.in_article and not any(self.stack):
            self.words += WORD.findall(data)


def body_words(html: Path) -> Counter[str]:
    """Count the prose words of a built page's article."""
    parser = _ProseParser()
    parser.feed(html.read_text(encoding="utf-8"))
    return Counter(word.lower() for word in parser.words if word[0].islower() or word.istitle())


def search_words(site: Path, pages: list[str]) -> dict[str, str]:
    """Pick, for each page, its most frequent long word that no other page uses (if it has one)."""
    words = {page: body_words(site / page) for page in pages}
    usage = Counter(word for counts in words.values() for word in counts)
    chosen = {}
    for page, counts in words.items():
        unique = sorted((-n, word) for word, n in counts.items() if usage[word] == 1)
        if unique:
            chosen[page] = unique[0][1]
    return chosen


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise over the pages of the built site, found at collection time."""
    site = Path(metafunc.config.getoption("--site")).resolve()
    pages = site_pages(site) if (site / "index.html").is_file() else []
    content = [page for page in pages if page not in GENERATED]
    if "any_page" in metafunc.fixturenames:
        # No site: one case, whose site_dir fixture fails with "run nox -s docs first".
        metafunc.parametrize("any_page", pages or ["index.html"])
    if "search_case" in metafunc.fixturenames:
        cases = sorted(search_words(site, content).items()) or [("index.html", "")]
        metafunc.parametrize("search_case", cases, ids=[page for page, _ in cases])


def test_page(new_page: Callable[[], Page], site_dir: Path, site_url: str, any_page: str) -> None:
    """Load cleanly; maths typeset; figures loaded, with alt text; no stray traceback; 2 themes.

    A page with a source also offers it (``.md``) from the download button and, if it is a
    notebook, a valid ``.ipynb``.
    """
    page = new_page()
    recorder = sitechecks.Recorder(page, site_url)
    page.goto(site_url + any_page, wait_until="load")
    stem = site_dir.parent / "screens" / any_page.removesuffix(".html").replace("/", "-")
    problems = sitechecks.page_problems(page, recorder, stem)
    if any_page not in GENERATED:
        source = source_of(site_dir, any_page)
        # What the author wrote, when this is the repository's own build: the download must be it.
        written = DOCS_SOURCE / any_page.replace(".html", ".md")
        mine = site_dir == DEFAULT_SITE and written.is_file()
        expected = written.read_text(encoding="utf-8") if mine else None
        downloads = sitechecks.download_problems(page, expected, notebook=is_notebook(source))
        if source is None:
            downloads.append("no source under _sources/")
        if downloads:
            problems["downloads"] = downloads
    assert not problems, f"{any_page}:\n{sitechecks.report(problems)}"


def test_search(new_page: Callable[[], Page], site_url: str, search_case: tuple[str, str]) -> None:
    """Search for a word found only in a page's body and find that page listed."""
    page_path, word = search_case
    if not word:
        pytest.fail("no page has a word of its own to search for", pytrace=False)
    page = new_page()
    recorder = sitechecks.Recorder(page, site_url)
    problems = sitechecks.search_problems(
        page, site_url + "search.html", word, site_url + page_path, type_query=False
    )
    problems += recorder.problems()
    assert not problems, f"{page_path} by {word!r}:\n" + "\n".join(problems)


def test_search_box(new_page: Callable[[], Page], site_dir: Path, site_url: str) -> None:
    """Type a page's word into the search page's box, press Enter, and find the page listed."""
    content = [p for p in site_pages(site_dir) if p not in GENERATED]
    cases = sorted(search_words(site_dir, content).items())
    if not cases:
        pytest.fail("no page has a word of its own to search for", pytrace=False)
    page_path, word = cases[0]
    page = new_page()
    recorder = sitechecks.Recorder(page, site_url)
    problems = sitechecks.search_problems(
        page, site_url + "search.html", word, site_url + page_path, type_query=True
    )
    assert f"q={word}" in page.url, f"the search box did not submit: {page.url}"
    problems += recorder.problems()
    assert not problems, f"{page_path} by {word!r}:\n" + "\n".join(problems)
