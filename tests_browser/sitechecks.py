"""Checks of a built page in a real browser, as plain functions.

Each ``*_problems`` function takes a Playwright page (already on the URL to check, unless it says
otherwise) and returns a list of human-readable problems; an empty list means the page passed.
The site tests (``test_site.py``) and the tests of the tests (``test_checks_fail.py``, on the
broken pages under ``fixtures/``) call the same functions, so a check that stops seeing a fault
fails the suite.

:class:`Recorder` is the exception: it listens to a page from before its first request, so it is
attached first and read last. :func:`page_problems` runs every per-page check in order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Error, Page, Request, Response, Route

# Sphinx writes TeX inside these delimiters; MathJax replaces them with <mjx-container> elements.
# Anything below still in the visible text means a formula the reader sees as source.
RAW_TEX = re.compile(
    r"\$\$"  # display math delimiters
    r"|\\[()[\]]"  # \( \) \[ \]
    r"|\\(?:frac|dfrac|tfrac|sqrt|sum|prod|int|partial|nabla|mathbf|mathrm|mathcal|operatorname"
    r"|left|right|begin|end|alpha|beta|gamma|delta|sigma|lambda|theta|cdot|times|top|lVert|rVert"
    r"|tanh|log|exp|le|ge|leq|geq|approx|infty|odot|otimes)(?![A-Za-z])"
    # $x$ left as text (dollarmath off, or outside what MathJax processes)
    r"|(?<![\\$\w])\$(?=[^\s$])[^$\n]{1,200}(?<=[^\s$\\])\$(?![\w$])"
)

# Python tracebacks as myst-nb renders an error output (the ``traceback`` class, the ansi ``---->``
# arrow pointing at the failing line) or as text a cell printed to stderr.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^-{2,}> ", re.MULTILINE)

# A code cell of a MyST notebook; jupytext turns each into one code cell of the .ipynb.
CODE_CELL = re.compile(r"^(`{3,}|~{3,})\{code-cell\}", re.MULTILINE)

# What the browser may ask for besides the served site: inline data, blobs and the blank page.
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-error"}

_VISIBLE_TEXT_JS = """
(skip) => {
  // Text of the page outside code, scripts and typeset math: what a reader reads as prose.
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      const el = node.parentElement;
      if (!el || el.closest(skip)) return NodeFilter.FILTER_REJECT;
      return NodeFilter.FILTER_ACCEPT;
    },
  });
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    out.push({text: walker.currentNode.nodeValue, where: describe(el)});
  }
  return out;
  function describe(el) {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 3; e = e.parentElement) {
      let s = e.tagName.toLowerCase();
      if (e.id) s += "#" + e.id;
      else if (e.classList.length) s += "." + [...e.classList].slice(0, 2).join(".");
      parts.unshift(s);
    }
    return parts.join(" > ");
  }
}
"""

# Never read as prose: code, scripts, and the typeset formulas themselves (their assistive MathML
# may repeat the TeX).
CODE_AND_MATH = (
    "pre, code, kbd, samp, script, style, noscript, textarea, template, "
    "mjx-container, mjx-assistive-mml, .highlight, .cell_input, "
    ".pre, .sig"  # Sphinx's literals and API signatures (a default value may be "'$w$'")
)

_MATH_STATE_JS = """
async (timeoutMs) => {
  const mathEls = [...document.querySelectorAll(".math")];
  const waitFor = (p) => Promise.race([
    p.then(() => "done", (e) => "failed: " + e),
    new Promise((r) => setTimeout(() => r("timeout"), timeoutMs)),
  ]);
  let startup = "absent";
  // window.MathJax is the configuration object until the deferred script replaces it.
  const t0 = Date.now();
  while (!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)
         && Date.now() - t0 < (mathEls.length ? timeoutMs : 0)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  // Later typesetting calls chain themselves onto startup.promise: wait until it stops changing.
  for (let p = null; window.MathJax && window.MathJax.startup
       && window.MathJax.startup.promise && window.MathJax.startup.promise !== p;) {
    p = window.MathJax.startup.promise;
    startup = await waitFor(p);
    if (startup !== "done") break;
  }
  const untypeset = mathEls
    .filter((el) => !el.querySelector("mjx-container") && !el.closest("mjx-container"))
    .map((el) => el.textContent.trim().slice(0, 80));
  const errors = [...document.querySelectorAll("mjx-merror, [data-mjx-error]")]
    .map((el) => (el.getAttribute("data-mjx-error") || el.textContent).trim().slice(0, 80));
  return {
    startup,
    nMath: mathEls.length,
    nTypeset: document.querySelectorAll("mjx-container").length,
    untypeset,
    errors,
  };
}
"""

_IMAGES_JS = """
async ([contentSelector, timeoutMs]) => {
  const imgs = [...document.querySelectorAll("img")];
  // A lazy image below the fold would never load in a test that does not scroll: ask for it now.
  imgs.forEach((img) => { if (img.loading === "lazy") img.loading = "eager"; });
  await Promise.all(imgs.map((img) => img.complete ? null : new Promise((r) => {
    img.addEventListener("load", r, {once: true});
    img.addEventListener("error", r, {once: true});
    setTimeout(r, timeoutMs);
  })));
  const content = new Set(document.querySelectorAll(contentSelector));
  return imgs.map((img) => ({
    src: img.getAttribute("src") || "",
    alt: img.getAttribute("alt"),
    loaded: img.complete && img.naturalWidth > 0 && img.naturalHeight > 0,
    inContent: content.has(img),
  }));
}
"""

# The page's own content in sphinx-book-theme (and in the fixtures, which copy its structure).
CONTENT_IMAGES = "article img, main img, [role='main'] img"

_TRACEBACKS_JS = """
() => {
  // myst-nb wraps a cell's outputs in .cell_output; glued outputs may stand alone as .output.
  const outputs = [...document.querySelectorAll(".cell_output, .output")]
    .filter((el) => el.matches(".cell_output") || !el.closest(".cell_output"));
  return outputs
    .filter((out) => !out.closest(".tag_raises-exception"))
    .map((out) => ({
      text: out.innerText || out.textContent,
      isError: out.matches(".traceback") || !!out.querySelector(".traceback"),
      cell: (out.closest(".cell") || out).id || "",
    }));
}
"""


class Recorder:
    """Collect what went wrong on the wire and in the console while a page is used.

    Attach before the first navigation. Requests to any origin but ``origin`` are recorded and
    aborted, so a stray CDN link neither reaches the network nor stalls the test.
    """

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin.rstrip("/")
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.failed_requests: list[str] = []
        self.bad_responses: list[str] = []
        self.foreign_requests: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        # Only what leaves the site is routed here, so that the site's own requests (hundreds on
        # a long page) go straight to the server.
        page.route(
            re.compile(rf"^(?!{re.escape(self.origin)}/|(?:data|blob|about):)"), self._on_route
        )

    def _is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES:
            return True
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def _on_route(self, route: Route) -> None:
        url = route.request.url
        if self._is_local(url):
            route.continue_()
        else:
            self.foreign_requests.append(url)
            route.abort("blockedbyclient")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location or {}
            where = location.get("url", "")
            line = location.get("lineNumber")
            if where:
                where = f" ({where}:{line})" if line is not None else f" ({where})"
            self.console_errors.append(f"{message.text}{where}")

    def _on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"{error.name}: {error.message}")

    def _on_request_failed(self, request: Request) -> None:
        if self._is_local(request.url):
            self.failed_requests.append(f"{request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.bad_responses.append(f"{response.url}: HTTP {response.status}")

    def problems(self) -> list[str]:
        """Everything recorded so far, one line each."""
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"uncaught exception: {text}" for text in self.page_errors]
            + [f"failed request: {text}" for text in self.failed_requests]
            + [f"bad response: {text}" for text in self.bad_responses]
            + [f"request outside the site: {url}" for url in self.foreign_requests]
        )


def math_problems(page: Page, timeout_ms: int = 15_000) -> list[str]:
    """Every formula typeset by MathJax, without errors, and no raw TeX left in the prose.

    Waits for ``MathJax.startup.promise`` (and a final ``typesetPromise``) before looking.
    """
    state = page.evaluate(_MATH_STATE_JS, timeout_ms)
    problems: list[str] = []
    if state["nMath"] and state["startup"] != "done":
        problems.append(
            f"{state['nMath']} math element(s) but MathJax did not finish ({state['startup']})"
        )
    problems += [f"math not typeset: {tex!r}" for tex in state["untypeset"]]
    problems += [f"MathJax error: {text!r}" for text in state["errors"]]
    for chunk in page.evaluate(_VISIBLE_TEXT_JS, CODE_AND_MATH):
        # One line per text node is enough to find it; the first match shows what is wrong.
        match = RAW_TEX.search(chunk["text"])
        if match:
            start = max(match.start() - 30, 0)
            context = chunk["text"][start : match.end() + 40].strip()
            problems.append(f"raw TeX {match.group()!r} in {chunk['where']}: {context!r}")
    return problems


def _looks_like_filename(alt: str) -> bool:
    # myst-nb's default alt text for an output image is its path under _images/.
    return bool(re.fullmatch(r"\S+\.(?:png|jpe?g|svg|gif|webp)", alt.strip(), re.IGNORECASE))


def image_problems(page: Page, timeout_ms: int = 10_000) -> list[str]:
    """Every image loaded with a nonzero size; content images carry real alt text."""
    problems = []
    for img in page.evaluate(_IMAGES_JS, [CONTENT_IMAGES, timeout_ms]):
        if not img["loaded"]:
            problems.append(f"image not loaded: {img['src']}")
        if img["inContent"]:
            alt = (img["alt"] or "").strip()
            if not alt:
                problems.append(f"image without alt text: {img['src']}")
            elif _looks_like_filename(alt):
                problems.append(f"image alt text is a file name ({alt!r}): {img['src']}")
    return problems


def traceback_problems(page: Page) -> list[str]:
    """No cell output shows a Python traceback unless its cell is tagged ``raises-exception``."""
    problems = []
    for out in page.evaluate(_TRACEBACKS_JS):
        match = TRACEBACK.search(out["text"])
        if out["isError"] or match:
            first = out["text"].strip().splitlines()
            where = f" in cell #{out['cell']}" if out["cell"] else ""
            problems.append(
                f"traceback in a cell output{where}: "
                f"{(match.group() if match else first[0] if first else '')!r}"
            )
    return problems


def _background(page: Page) -> str:
    return str(
        page.evaluate(
            """() => {
              // The first non-transparent background from <body> up is what the reader sees.
              for (const el of [document.body, document.documentElement]) {
                const c = getComputedStyle(el).backgroundColor;
                if (c && c !== "transparent" && c !== "rgba(0, 0, 0, 0)") return c;
              }
              return "rgba(0, 0, 0, 0)";
            }"""
        )
    )


def _luminance(css_colour: str) -> float | None:
    numbers = [float(x) for x in re.findall(r"[\d.]+", css_colour)[:3]]
    if len(numbers) < 3:
        return None
    r, g, b = (x / 255 for x in numbers)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def set_theme(page: Page, theme: str) -> None:
    """Switch the site to the ``light`` or ``dark`` theme, through its switcher if it has one."""
    page.evaluate(
        """(theme) => {
          // The theme's own switcher (pydata-sphinx-theme's colour-mode menu) when there is one.
          const button = document.querySelector(`.theme-change-button[data-mode="${theme}"]`);
          if (button) { button.click(); return; }
          localStorage.setItem("mode", theme);
          localStorage.setItem("theme", theme);
          document.documentElement.dataset.mode = theme;
          document.documentElement.dataset.theme = theme;
        }""",
        theme,
    )
    # Let styles recompute and any transition settle before measuring or capturing.
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def theme_problems(page: Page, screenshot_stem: Path | None = None) -> list[str]:
    """Light and dark themes both render, with different backgrounds; screenshot each.

    With ``screenshot_stem`` (e.g. ``screens/index``), full-page captures are written to
    ``<stem>-light.png`` and ``<stem>-dark.png``.
    """
    problems = []
    backgrounds = {}
    for theme in ("light", "dark"):
        set_theme(page, theme)
        if page.evaluate("() => document.documentElement.dataset.theme") != theme:
            problems.append(f"{theme} theme did not stick (data-theme was reset)")
        backgrounds[theme] = _background(page)
        if screenshot_stem is not None:
            path = screenshot_stem.with_name(f"{screenshot_stem.name}-{theme}.png")
            path.parent.mkdir(parents=True, exist_ok=True)
            # A long page (the API reference) is tens of thousands of pixels tall: allow time.
            page.screenshot(path=str(path), full_page=True, animations="disabled", timeout=120_000)
    light, dark = _luminance(backgrounds["light"]), _luminance(backgrounds["dark"])
    if backgrounds["light"] == backgrounds["dark"]:
        problems.append(f"light and dark themes have the same background {backgrounds['light']}")
    elif light is not None and dark is not None and not dark < light:
        problems.append(
            f"dark background {backgrounds['dark']} is not darker than light {backgrounds['light']}"
        )
    set_theme(page, "light")
    return problems


def search_problems(
    page: Page, search_url: str, word: str, expected_url: str, *, type_query: bool = True
) -> list[str]:
    """Search for ``word`` and check that a result links to ``expected_url``.

    With ``type_query`` the word is typed into the search page's box and submitted, as a reader
    would; otherwise the page is opened at ``search_url?q=word`` (the URL the box submits to).
    """
    box = None
    if type_query:
        page.goto(search_url)
        box = page.locator("input[name='q']").locator("visible=true")
    if box is not None and box.count():
        box.first.fill(word)
        box.first.press("Enter")
        page.wait_for_load_state()
    else:
        page.goto(f"{search_url}?q={word}")
    try:
        # Sphinx fills #search-results and then writes a summary ("Search finished, found ...").
        page.wait_for_function(
            """() => {
              const s = document.querySelector("#search-results .search-summary, "
                + "#search-results p");
              return s && s.textContent.trim().length > 0;
            }""",
            timeout=15_000,
        )
    except Exception as error:  # any way of not finishing is the same problem
        return [f"search for {word!r} never finished: {type(error).__name__}"]
    hrefs = page.eval_on_selector_all(
        "#search-results a[href]", "(links) => links.map((a) => a.href)"
    )
    found = {_page_path(href) for href in hrefs}
    if _page_path(expected_url) not in found:
        results = ", ".join(sorted(found)) or "none"
        return [
            f"search for {word!r} does not list {_page_path(expected_url)} (results: {results})"
        ]
    return []


def _page_path(url: str) -> str:
    path = urlsplit(url).path
    return path + "index.html" if path.endswith("/") else path


def notebook_problems(data: bytes, where: str, code_cells: int | None = None) -> list[str]:
    """Check that ``data`` is a valid nbformat 4 notebook that Jupyter opens with a kernel.

    With ``code_cells``, the notebook must have that many code cells (those of its source).
    """
    try:
        notebook = json.loads(data)
    except ValueError as error:
        return [f"{where} is not JSON: {error}"]
    if not isinstance(notebook, dict):
        return [f"{where} is not a notebook (top level is {type(notebook).__name__})"]
    problems = []
    if notebook.get("nbformat") != 4 or not isinstance(notebook.get("nbformat_minor"), int):
        problems.append(
            f"{where}: nbformat {notebook.get('nbformat')!r}.{notebook.get('nbformat_minor')!r},"
            " expected 4.x"
        )
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("kernelspec"), dict):
        problems.append(f"{where}: no kernelspec in its metadata")
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not cells:
        return [*problems, f"{where}: no cells"]
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in {"code", "markdown", "raw"}:
            problems.append(f"{where}: cell {i} has no valid cell_type")
        elif "source" not in cell:
            problems.append(f"{where}: cell {i} has no source")
    found = sum(isinstance(cell, dict) and cell.get("cell_type") == "code" for cell in cells)
    if code_cells is not None and found != code_cells:
        problems.append(f"{where}: {found} code cells, but its source has {code_cells}")
    return problems


def download_problems(page: Page, source_text: str | None, notebook: bool) -> list[str]:
    """Check the download button offers the ``.md`` source, and a notebook page an ``.ipynb``.

    ``source_text`` is the page's source as built (compared with what the button serves); with
    ``notebook`` the page must link a ``.ipynb`` that downloads as a valid notebook.
    """
    problems = []
    md_links = page.eval_on_selector_all(
        ".dropdown-download-buttons a[href]",
        "(links) => links.map((a) => a.href).filter((h) => /\\.md([?#].*)?$/.test(h))",
    )
    if not md_links:
        problems.append("download button offers no .md source")
    code_cells = None
    for url in md_links[:1]:
        response = page.request.get(url)
        if not response.ok:
            problems.append(f"source download {url}: HTTP {response.status}")
            continue
        text = response.text()
        if source_text is not None and text != source_text:
            problems.append(f"source download {url} differs from the page's source")
        code_cells = len(CODE_CELL.findall(text))
    if notebook:
        ipynb_links = page.eval_on_selector_all(
            "a[href]",
            "(links) => [...new Set(links.map((a) => a.href)"
            ".filter((h) => /\\.ipynb([?#].*)?$/.test(h)))]",
        )
        if not ipynb_links:
            problems.append("notebook page has no link to an .ipynb")
        for url in ipynb_links:
            response = page.request.get(url)
            if not response.ok:
                problems.append(f"notebook download {url}: HTTP {response.status}")
            else:
                problems += notebook_problems(response.body(), url, code_cells)
    return problems


_LAYOUT_JS = """
() => {
  const root = document.documentElement;
  const wide = [];
  const selector = "article pre, article table, article img, figcaption";
  for (const el of document.querySelectorAll(selector)) {
    // Content that spills out of its box (overflow visible) widens the page; a box that
    // scrolls keeps it inside.
    const box = el.getBoundingClientRect();
    const visible = getComputedStyle(el).overflowX === "visible";
    const right = visible ? box.left + el.scrollWidth : box.right;
    if (right > root.clientWidth + 1) {
      wide.push(`${el.tagName.toLowerCase()} ends at ${Math.round(right)} px`);
    }
  }
  const captions = [];
  for (const el of document.querySelectorAll("figcaption")) {
    captions.push(getComputedStyle(el).color);
  }
  return {
    scroll: root.scrollWidth,
    client: root.clientWidth,
    wide: wide.slice(0, 3),
    captions: captions,
  };
}
"""


def _relative_luminance(css_colour: str) -> float | None:
    """WCAG relative luminance of an ``rgb(...)`` colour (sRGB decoded to linear light)."""
    numbers = [float(x) for x in re.findall(r"[\d.]+", css_colour)[:3]]
    if len(numbers) < 3:
        return None
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        for c in (x / 255 for x in numbers)
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(first: float, second: float) -> float:
    """WCAG contrast ratio of two relative luminances."""
    light, dark = max(first, second), min(first, second)
    return (light + 0.05) / (dark + 0.05)


def layout_problems(page: Page) -> list[str]:
    """Content wider than the window (code, outputs, tables), and captions of low contrast.

    A code cell or an output with a long line must scroll inside its box rather than widen the
    page; a caption must reach the WCAG AA contrast (4.5:1) against the page, in the current
    theme.
    """
    state = page.evaluate(_LAYOUT_JS)
    problems = []
    if state["scroll"] > state["client"] + 1:
        extra = state["scroll"] - state["client"]
        where = "; ".join(state["wide"]) or "no single element found"
        problems.append(f"the page is {extra} px wider than the window ({where})")
    background = _relative_luminance(_background(page))
    for colour in dict.fromkeys(state["captions"]):
        text = _relative_luminance(colour)
        if background is not None and text is not None and _contrast(text, background) < 4.5:
            ratio = _contrast(text, background)
            problems.append(f"caption colour {colour} has contrast {ratio:.1f}:1 (below 4.5:1)")
    return problems


def page_problems(
    page: Page,
    recorder: Recorder,
    screenshot_stem: Path | None = None,
    math_timeout_ms: int = 15_000,
) -> dict[str, list[str]]:
    """Run every per-page check on a loaded page; the checks that found something, by name.

    ``recorder`` must have been attached before the page was loaded. It is read last, after the
    theme switches and once the network is idle, so whatever those set off is counted too.
    """
    problems = {
        "math": math_problems(page, math_timeout_ms),
        "images": image_problems(page),
        "tracebacks": traceback_problems(page),
        "themes": theme_problems(page, screenshot_stem),
        "layout": layout_problems(page),
    }
    page.wait_for_load_state("networkidle")
    problems["network and console"] = recorder.problems()
    return {check: lines for check, lines in problems.items() if lines}


def report(problems: dict[str, list[str]]) -> str:
    """One line per problem, prefixed by the check that found it."""
    return "\n".join(f"[{check}] {line}" for check, lines in problems.items() for line in lines)
