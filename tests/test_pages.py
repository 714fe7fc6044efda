"""Each page and the command line give the same numbers for the same settings file.

For every experiment, the settings of ``conf/<name>.toml`` with the overrides ``SMALL`` of
``tests/test_<name>.py`` (which keep the page's claims true in less time) are written to a
temporary conf folder; the page ``docs/<name>.md`` is executed as a notebook against that folder,
as the docs build executes it, and ``python -m gradwatch run <name>`` against the same folder.
Every number the command line writes must be glued by the page, under ``<name>.<key>``, with the
same value.

These tests need the docs toolchain (jupytext, nbclient, ipykernel: ``pip install -e
'.[docs]'``), which ``nox -s tests`` installs.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gradwatch import experiments

NO_TOOLCHAIN = "the docs toolchain is not installed: pip install -e '.[docs]'"
jupytext = pytest.importorskip("jupytext", reason=NO_TOOLCHAIN)
nbclient = pytest.importorskip("nbclient", reason=NO_TOOLCHAIN)
pytest.importorskip("ipykernel", reason=NO_TOOLCHAIN)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TESTS = Path(__file__).resolve().parent


def small_overrides(name: str) -> dict[str, Any]:
    """``SMALL`` of ``tests/test_<name>.py``."""
    path = TESTS / f"test_{name}.py"
    spec = importlib.util.spec_from_file_location(f"_pages_{name}", path)
    assert spec is not None, f"{path} is missing"
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    overrides = module.SMALL
    assert isinstance(overrides, dict), f"{path}: SMALL must be a dict of settings"
    return overrides


def toml_value(value: Any) -> str:
    """A setting as TOML (the settings hold numbers, strings, booleans and lists of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_small_conf(name: str, folder: Path) -> Path:
    """Write ``conf/<name>.toml`` with the test's overrides into ``folder``."""
    original = experiments.load(ROOT / "conf" / f"{name}.toml")
    settings = dataclasses.replace(original.settings, **small_overrides(name))
    lines = [
        "[experiment]",
        f"title = {json.dumps(original.title)}",
        f"description = {json.dumps(original.description)}",
        "",
        "[settings]",
    ]
    lines += [f"{k} = {toml_value(v)}" for k, v in dataclasses.asdict(settings).items()]
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def parse(text: str) -> Any:
    """A glued value back from its plain-text form (Python literals, nan and inf too)."""
    tree = ast.parse(text.strip(), mode="eval")
    names = {"__builtins__": {}, "nan": math.nan, "inf": math.inf}
    return eval(compile(tree, "<glue>", "eval"), names)


def glued_values(notebook: Any, prefix: str) -> dict[str, Any]:
    """The values an executed notebook glued under ``prefix.``."""
    glued = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook")
            if not meta or not meta["name"].startswith(f"{prefix}."):
                continue
            # myst-nb keeps glued data under "application/papermill.record/<mime type>".
            data = {
                key.rsplit("/", 2)[-2] + "/" + key.rsplit("/", 1)[-1]: value
                for key, value in output["data"].items()
            }
            if "text/markdown" in data:
                glued[meta["name"]] = data["text/markdown"]
            else:
                glued[meta["name"]] = parse(data["text/plain"])
    return glued


def same(a: Any, b: Any) -> bool:
    """Equal values; NaN equals NaN, and a tuple equals the list JSON makes of it."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


@pytest.mark.parametrize("name", experiments.names())
def test_page_glues_the_numbers_the_command_line_writes(name, tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    write_small_conf(name, conf)
    monkeypatch.setenv("GRADWATCH_CONF_DIR", str(conf))
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(variable, "1")

    # The command line as a reader runs it, in a process of its own with one BLAS thread as the
    # pages execute (the thread count is read when NumPy loads, so not in this process).
    out = tmp_path / "results"
    command = [sys.executable, "-m", "gradwatch", "run", name, "--no-figures", "--out", str(out)]
    subprocess.run(command, check=True, env=os.environ.copy(), capture_output=True)
    record = json.loads((out / name / "numbers.json").read_text(encoding="utf-8"))
    expected = experiments.flatten(record["numbers"], name)

    notebook = jupytext.read(DOCS / f"{name}.md")
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(DOCS)}}
    )
    client.execute()
    glued = glued_values(notebook, name)

    missing = sorted(set(expected) - set(glued))
    assert not missing, f"docs/{name}.md does not glue {missing}"
    extra = sorted(set(glued) - set(expected))
    assert not extra, f"docs/{name}.md glues {extra} under '{name}.', which run() does not write"
    differ = {k: (glued[k], v) for k, v in expected.items() if not same(glued[k], v)}
    assert not differ, f"page and command line differ (page, command line): {differ}"
