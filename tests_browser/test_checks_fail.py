"""Tests of the tests: the checks pass a sound page and flag each broken one under ``fixtures/``.

The fixtures are a tiny hand-written site shaped like the built one (``index.html`` passes every
check; each ``broken-*.html`` has one fault), served like the real site. They do not need the docs
to be built, nor the network: ``mathjax-stub.js`` stands in for MathJax.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import sitechecks
from playwright.sync_api import Page

FIXTURES = Path(__file__).parent / "fixtures"
# Fixture pages with math but no MathJax would otherwise wait the full 15 s for it.
MATH_TIMEOUT_MS = 1_000


@pytest.fixture(scope="module")
def fixture_url(serve: Callable[[Path], str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """Serve a copy of the fixture site; its base URL.

    The copy gains ``not-json.ipynb``, an HTML error page under a notebook's name: written here
    because ruff, which lints notebooks, would refuse it in the repository.
    """
    site = tmp_path_factory.mktemp("fixtures") / "site"
    shutil.copytree(FIXTURES, site)
    (site / "not-json.ipynb").write_text("<html><body>404 Not Found</body></html>\n")
    return serve(site)


def _load(
    new_page: Callable[[], Page], base_url: str, name: str
) -> tuple[Page, sitechecks.Recorder]:
    page = new_page()
    recorder = sitechecks.Recorder(page, base_url)
    page.goto(base_url + name, wait_until="load")
    return page, recorder


def test_sound_page_passes_every_check(
    new_page: Callable[[], Page], fixture_url: str, tmp_path: Path
) -> None:
    """The sound page passes, so the checks do not flag everything; a screenshot per theme."""
    page, recorder = _load(new_page, fixture_url, "index.html")
    problems = sitechecks.page_problems(page, recorder, tmp_path / "index", MATH_TIMEOUT_MS)
    assert not problems, sitechecks.report(problems)
    assert page.locator("mjx-container").count() == 2
    light, dark = tmp_path / "index-light.png", tmp_path / "index-dark.png"
    assert light.stat().st_size > 0
    assert dark.stat().st_size > 0
    assert light.read_bytes() != dark.read_bytes()


def test_sound_downloads_pass(new_page: Callable[[], Page], fixture_url: str) -> None:
    """The sound page's download menu gives its source and a valid notebook."""
    page, recorder = _load(new_page, fixture_url, "index.html")
    source = (FIXTURES / "_sources" / "index.md").read_text(encoding="utf-8")
    assert sitechecks.download_problems(page, source, notebook=True) == []
    assert recorder.problems() == []


def test_sound_search_passes(new_page: Callable[[], Page], fixture_url: str) -> None:
    """Typing a word of the sound page into the search page finds it."""
    page, recorder = _load(new_page, fixture_url, "index.html")
    problems = sitechecks.search_problems(
        page, fixture_url + "search.html", "zyzzogeton", fixture_url + "index.html"
    )
    assert problems == []
    assert "q=zyzzogeton" in page.url  # typed into the box, not only passed in the URL
    assert recorder.problems() == []


def test_search_page_itself_passes(new_page: Callable[[], Page], fixture_url: str) -> None:
    """The search page, loaded bare, passes the per-page checks."""
    page, recorder = _load(new_page, fixture_url, "search.html")
    problems = sitechecks.page_problems(page, recorder, None, MATH_TIMEOUT_MS)
    assert not problems, sitechecks.report(problems)


# Each broken page: the checks that must report (and no others), with a phrase each must say.
BROKEN_PAGES = {
    "broken-missing-image.html": {
        "images": ["image not loaded: _images/missing.png"],
        "network and console": ["HTTP 404", "console error: Failed to load resource"],
    },
    "broken-alt-text.html": {
        "images": ["image without alt text", "alt text is a file name ('_images/figure.svg')"],
    },
    "broken-raw-tex.html": {"math": ["raw TeX '$$'", "raw TeX '$x^2$'"]},
    "broken-untypeset-math.html": {
        "math": ["MathJax did not finish (absent)", r"math not typeset: '\\(z = W a + b\\)'"],
    },
    "broken-mathjax-error.html": {"math": [r"MathJax error: 'Undefined control sequence \\frak'"]},
    "broken-console-error.html": {
        "network and console": ["console error: boom: the widget failed to start"],
    },
    "broken-uncaught-error.html": {"network and console": ["uncaught exception: TypeError"]},
    "broken-external-request.html": {
        "network and console": [
            "request outside the site: https://cdn.example.invalid/npm/mathjax@4/tex-mml-chtml.js",
            "request outside the site: https://fonts.example.invalid/css2?family=Lato",
        ],
    },
    "broken-missing-asset.html": {
        "network and console": ["_static/missing.js: HTTP 404", "console error"],
    },
    "broken-traceback.html": {
        "tracebacks": [
            "in cell #error-output: 'Traceback (most recent call last)'",
            "in cell #stderr-traceback: 'Traceback (most recent call last)'",
            "in cell #ansi-arrow: '----> '",
        ],
    },
    "broken-no-dark-theme.html": {
        "themes": ["light and dark themes have the same background rgb(255, 255, 255)"],
    },
    "broken-wide-code.html": {
        "layout": ["px wider than the window (pre ends at", "caption colour rgb(208, 208, 208)"],
        "themes": ["light and dark themes have the same background rgb(255, 255, 255)"],
    },
}


@pytest.mark.parametrize(
    ("name", "expected"),
    list(BROKEN_PAGES.items()),
    ids=[name.removeprefix("broken-").removesuffix(".html") for name in BROKEN_PAGES],
)
def test_broken_page_is_flagged(
    new_page: Callable[[], Page], fixture_url: str, name: str, expected: dict[str, list[str]]
) -> None:
    """The page's fault is reported by the check meant to see it, and by no other."""
    page, recorder = _load(new_page, fixture_url, name)
    problems = sitechecks.page_problems(page, recorder, None, MATH_TIMEOUT_MS)
    report = sitechecks.report(problems)
    assert set(problems) == set(expected), report
    for check, phrases in expected.items():
        for phrase in phrases:
            assert any(phrase in line for line in problems[check]), f"{phrase!r} not in\n{report}"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "broken-no-downloads.html",
            ["download button offers no .md source", "notebook page has no link to an .ipynb"],
        ),
        (
            "broken-bad-downloads.html",
            [
                "_sources/missing.md: HTTP 404",
                "not-json.ipynb is not JSON",
                "no-cells.ipynb: no kernelspec",
                "no-cells.ipynb: no cells",
                "missing.ipynb: HTTP 404",
            ],
        ),
        (
            "broken-stale-notebook.html",
            ["stale.ipynb: 2 code cells, but its source has 1"],
        ),
    ],
    ids=["no-downloads", "bad-downloads", "stale-notebook"],
)
def test_broken_downloads_are_flagged(
    new_page: Callable[[], Page], fixture_url: str, name: str, expected: list[str]
) -> None:
    """A missing download menu, a missing source and notebooks that are not notebooks."""
    page, _ = _load(new_page, fixture_url, name)
    problems = sitechecks.download_problems(page, None, notebook=True)
    assert len(problems) == len(expected), problems
    for phrase in expected:
        assert any(phrase in line for line in problems), f"{phrase!r} not in {problems}"


def test_search_miss_is_flagged(new_page: Callable[[], Page], fixture_url: str) -> None:
    """A word the page does not have does not find it, and the check says so."""
    page, _ = _load(new_page, fixture_url, "index.html")
    problems = sitechecks.search_problems(
        page, fixture_url + "search.html", "quuxification", fixture_url + "index.html"
    )
    assert problems == ["search for 'quuxification' does not list /index.html (results: none)"]
