"""The sdist and the wheel carry the licence, the settings files and the typing marker."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build the sdist and the wheel with the project's build backend (hatchling)."""
    pytest.importorskip("hatchling", reason="hatchling is in the test dependency group")
    from hatchling.builders.sdist import SdistBuilder
    from hatchling.builders.wheel import WheelBuilder

    out = tmp_path_factory.mktemp("dist")
    sdist = next(iter(SdistBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])))
    wheel = next(iter(WheelBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])))
    return {"sdist": Path(sdist), "wheel": Path(wheel)}


def test_the_wheel_has_the_licence_settings_and_marker(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = wheel.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = wheel.read(metadata).decode("utf-8")
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert "gradwatch/py.typed" in names
    assert "gradwatch/conf/clipping.toml" in names
    assert "gradwatch/experiments/clipping.py" in names
    assert "License-Expression: BSD-3-Clause" in text
    assert "Requires-Dist: numpy" in text
    # Published extras take lower bounds, never exact pins.
    extras = [line for line in text.splitlines() if "extra ==" in line]
    assert extras
    assert not any("==" in line.split(";")[0] for line in extras), extras


def test_the_sdist_has_the_licence_and_the_sources(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as sdist:
        names = sdist.getnames()
    top = names[0].split("/")[0]
    for path in ("LICENSE", "pyproject.toml", "README.md", "conf/clipping.toml"):
        assert f"{top}/{path}" in names, path
    assert f"{top}/src/gradwatch/__init__.py" in names
    assert not any("/docs/_build/" in n for n in names)


def test_scientific_python_repo_review_passes() -> None:
    """Every check of Scientific Python's repo-review passes, or is ignored with a reason."""
    pytest.importorskip("sp_repo_review", reason="sp-repo-review is in the test dependency group")
    from repo_review.processor import process

    result = process(ROOT)
    failed = {r.name: r.err_msg.splitlines()[0] for r in result.results if r.result is False}
    assert not failed, failed
