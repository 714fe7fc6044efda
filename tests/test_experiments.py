"""Experiments: settings files are found, checked and run, with clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gradwatch as gw

KIND = "test_kind_for_tests"
SCHEMA = {"depths": list[int], "scale": float, "label": str, "verbose": bool, "seed": int}
GOOD = """\
[experiment]
kind = "test_kind_for_tests"
title = "A test"
description = "Used by the tests."

[settings]
depths = [1, 2, 4]
scale = 2
label = "tanh"
verbose = false
seed = 0
"""


@pytest.fixture
def calls() -> Iterator[list[tuple[dict[str, Any], Any]]]:
    """Register a test kind whose runner records its calls; unregister it afterwards."""
    recorded: list[tuple[dict[str, Any], Any]] = []
    assert KIND not in gw.experiments._KINDS

    @gw.experiments.register(KIND, SCHEMA)
    def runner(settings: dict[str, Any], progress: Any = None) -> gw.experiments.Result:
        recorded.append((settings, progress))
        return gw.experiments.Result(numbers={"total": sum(settings["depths"]) * settings["scale"]})

    yield recorded
    gw.experiments._KINDS.pop(KIND, None)


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRADWATCH_CONF_DIR", str(tmp_path))
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_a_good_file(conf: Path, calls: list[Any]) -> None:
    path = write(conf, "good", GOOD)
    assert gw.experiments.conf_dir() == conf
    assert gw.experiments.list_experiments() == ["good"]
    assert KIND in gw.experiments.kinds()
    for source in ("good", path, str(path)):
        experiment = gw.experiments.load(source)
        assert experiment.name == "good"
        assert experiment.path == path
        assert experiment.kind == KIND
        assert experiment.title == "A test"
        assert experiment.description == "Used by the tests."
        assert experiment.settings == {
            "depths": [1, 2, 4],
            "scale": 2.0,
            "label": "tanh",
            "verbose": False,
            "seed": 0,
        }
        # An int where a float is expected is widened; ints stay ints.
        assert type(experiment["scale"]) is float
        assert type(experiment["seed"]) is int
    with pytest.raises(KeyError, match="good has no setting 'width'; it has: depths, scale"):
        experiment["width"]


def test_run_calls_the_runner_with_checked_settings(conf: Path, calls: list[Any]) -> None:
    write(conf, "good", GOOD)

    def progress(label: str, done: int, total: int) -> None:
        pass

    result = gw.experiments.run("good", progress=progress)
    assert result.numbers == {"total": 14.0}
    assert result.figures == {}
    assert len(calls) == 1
    settings, given_progress = calls[0]
    assert settings == {
        "depths": [1, 2, 4],
        "scale": 2.0,
        "label": "tanh",
        "verbose": False,
        "seed": 0,
    }
    assert type(settings["scale"]) is float
    assert given_progress is progress
    experiment = gw.experiments.load("good")
    gw.experiments.run(experiment)
    assert len(calls) == 2
    assert calls[1][1] is None


def test_missing_file_lists_the_available_names(conf: Path, calls: list[Any]) -> None:
    write(conf, "alpha", GOOD)
    write(conf, "beta", GOOD)
    with pytest.raises(
        FileNotFoundError, match=r"no experiment named 'gamma' in .*; available: alpha, beta"
    ):
        gw.experiments.load("gamma")
    with pytest.raises(FileNotFoundError, match="no experiment file"):
        gw.experiments.load(conf / "gamma.toml")
    with pytest.raises(FileNotFoundError, match="gamma"):
        gw.experiments.run("gamma")
    assert calls == []


def test_missing_file_in_an_empty_folder(conf: Path) -> None:
    with pytest.raises(FileNotFoundError, match="available: none"):
        gw.experiments.load("anything")
    assert gw.experiments.list_experiments() == []


@pytest.mark.parametrize(
    ("replace", "by", "error", "message"),
    [
        (
            "seed = 0",
            "seed = 0\nwidth = 3",
            ValueError,
            (
                r"\[settings\]: unknown setting 'width'; "
                r"expected one of: depths, scale, label, verbose, seed"
            ),
        ),
        ("seed = 0", "", ValueError, r"\[settings\]: missing setting 'seed' \(an int\)"),
        (
            "seed = 0",
            'seed = "zero"',
            TypeError,
            r"\[settings\]: setting 'seed' must be an int, got 'zero'",
        ),
        ("seed = 0", "seed = 1.5", TypeError, "setting 'seed' must be an int, got 1.5"),
        ("seed = 0", "seed = true", TypeError, "setting 'seed' must be an int, got True"),
        ("scale = 2", 'scale = "2"', TypeError, "setting 'scale' must be a number, got '2'"),
        ("scale = 2", "scale = false", TypeError, "setting 'scale' must be a number, got False"),
        (
            "verbose = false",
            "verbose = 0",
            TypeError,
            "setting 'verbose' must be true or false, got 0",
        ),
        ('label = "tanh"', "label = 3", TypeError, "setting 'label' must be a string, got 3"),
        (
            "depths = [1, 2, 4]",
            "depths = 4",
            TypeError,
            "setting 'depths' must be a list of ints, got 4",
        ),
        (
            "depths = [1, 2, 4]",
            "depths = [1, 2.5, 4]",
            TypeError,
            r"setting 'depths'\[1\] must be an int, got 2.5",
        ),
        (
            "depths = [1, 2, 4]",
            'depths = [1, "2"]',
            TypeError,
            r"setting 'depths'\[1\] must be an int, got '2'",
        ),
        (
            'kind = "test_kind_for_tests"',
            'kind = "no_such_kind"',
            ValueError,
            "unknown kind 'no_such_kind'; expected one of: .*test_kind_for_tests",
        ),
        ('title = "A test"\n', "", ValueError, r"\[experiment\]: missing setting 'title'"),
        (
            'title = "A test"',
            'title = "A test"\nauthor = "me"',
            ValueError,
            r"\[experiment\]: unknown setting 'author'",
        ),
        ("[settings]", "[settings]\n[extra]", ValueError, "unknown table 'extra'"),
        ("[experiment]", "[experimnt]", ValueError, "unknown table 'experimnt'"),
        ("depths = [1, 2, 4]", "depths = [1, 2, 4", ValueError, "not valid TOML"),
    ],
)
def test_bad_files(
    conf: Path, calls: list[Any], replace: str, by: str, error: type, message: str
) -> None:
    assert replace in GOOD
    path = write(conf, "bad", GOOD.replace(replace, by, 1))
    with pytest.raises(error, match=message) as info:
        gw.experiments.load("bad")
    assert str(path) in str(info.value)  # every message says which file
    with pytest.raises(error, match=message):
        gw.experiments.run("bad")
    assert calls == []  # the runner never sees bad settings


def test_missing_experiment_table(conf: Path, calls: list[Any]) -> None:
    write(conf, "bad", "[settings]\nseed = 0\n")
    with pytest.raises(ValueError, match=r"missing the \[experiment\] table"):
        gw.experiments.load("bad")


def test_check_settings_directly() -> None:
    schema = {"depths": list[int], "scale": float, "seed": int, "rates": list[float]}
    settings = {"depths": [1, 2], "scale": 1, "seed": 0, "rates": [1, 0.5]}
    checked = gw.experiments.check_settings(settings, schema, source="here")
    assert checked == {"depths": [1, 2], "scale": 1.0, "seed": 0, "rates": [1.0, 0.5]}
    assert type(checked["scale"]) is float
    assert all(type(r) is float for r in checked["rates"])
    assert type(settings["scale"]) is int  # the input is not changed
    assert (
        gw.experiments.check_settings(
            {"depths": [], "scale": 0.5, "seed": 1, "rates": []}, schema, "here"
        )["depths"]
        == []
    )
    with pytest.raises(
        ValueError,
        match=r"^here: unknown setting 'depth'; expected one of: depths, scale, seed, rates$",
    ):
        gw.experiments.check_settings({"depth": [1]}, schema, source="here")
    with pytest.raises(ValueError, match=r"^here: missing setting 'rates' \(a list of numbers\)$"):
        gw.experiments.check_settings(
            {"depths": [1], "scale": 1.0, "seed": 0}, schema, source="here"
        )
    with pytest.raises(TypeError, match=r"^here: setting 'depths'\[0\] must be an int, got True$"):
        gw.experiments.check_settings({**settings, "depths": [True]}, schema, source="here")


def test_optional_types_in_a_schema() -> None:
    schema = {"limit": float | None}
    assert gw.experiments.check_settings({"limit": 2}, schema, "s") == {"limit": 2.0}
    with pytest.raises(TypeError, match="limit"):
        gw.experiments.check_settings({"limit": "big"}, schema, "s")
    with pytest.raises(TypeError, match="unsupported type"):
        gw.experiments.check_settings({"when": 1}, {"when": dict}, "s")
