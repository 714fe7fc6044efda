"""Browser test fixtures: a local web server per site, Debian's Chromium, a fresh page per test.

The built site is served from ``docs/_build/html`` (or ``--site DIR``) on 127.0.0.1 at a free port.
Chromium is the system one (``/usr/bin/chromium``, or ``$CHROMIUM``); Playwright never downloads a
browser here.
"""

from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

HERE = Path(__file__).parent
ROOT = HERE.parent
DEFAULT_SITE = ROOT / "docs" / "_build" / "html"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--safebrowsing-disable-auto-update",
    "--hide-scrollbars",
    "--mute-audio",
]
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 20_000

# The check functions live beside the tests; pytest's importlib mode leaves sys.path alone.
sys.path.insert(0, str(HERE))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--site",
        default=str(DEFAULT_SITE),
        help="built HTML site to test (default: docs/_build/html)",
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serve files without logging each request or shouting when the browser hangs up early."""

    extensions_map = {  # noqa: RUF012 - the stdlib's own class attribute, extended
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".ipynb": "application/x-ipynb+json",
        ".md": "text/markdown; charset=utf-8",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".woff2": "font/woff2",
        ".svg": "image/svg+xml",
    }

    def end_headers(self) -> None:
        # As a static host does (GitHub Pages sends max-age=600): the theme's 3 MB of scripts are
        # fetched and compiled once per run, not once per page.
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A tab closed mid-download (ConnectionResetError, BrokenPipeError) is not the site's fault.
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def serve() -> Iterator[Callable[[Path], str]]:
    """Start a server for a directory and return its base URL (``http://127.0.0.1:PORT/``)."""
    servers: list[_Server] = []

    def start(directory: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, name=f"http:{directory}", daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's Chromium with "
            "`apt-get update && apt-get install -y chromium` (or point $CHROMIUM at one)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def context(browser: Browser) -> Iterator[BrowserContext]:
    """One browser context for the run, so the HTTP cache is warm as on a reader's second page.

    Storage is not shared: every document starts with empty local and session storage, as on a
    first visit (the colour mode a theme check chose does not carry over to the next page).
    """
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
    yield context
    context.close()


@pytest.fixture
def new_page(context: BrowserContext) -> Iterator[Callable[[], Page]]:
    """Open fresh pages (tabs), closed when the test ends."""
    pages: list[Page] = []

    def open_page() -> Page:
        page = context.new_page()
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        page.close()


@pytest.fixture(scope="session")
def site_dir(request: pytest.FixtureRequest) -> Path:
    site = Path(request.config.getoption("--site")).resolve()
    if not (site / "index.html").is_file():
        pytest.fail(
            f"{site / 'index.html'} does not exist: build the site first with `nox -s docs`",
            pytrace=False,
        )
    return site


@pytest.fixture(scope="session")
def site_url(serve: Callable[[Path], str], site_dir: Path) -> str:
    return serve(site_dir)
