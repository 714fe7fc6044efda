"""The command line: list, run, output files and errors for bad settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gradwatch as gw
from gradwatch.__main__ import main

TOML = """
[experiment]
kind = "cli_test"
title = "A test experiment"
description = "Squares a number and draws it."

[settings]
n = {n}
"""


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "square.toml").write_text(TOML.format(n=3), encoding="utf-8")
    monkeypatch.setenv("GRADWATCH_CONF_DIR", str(folder))
    calls = []

    @gw.experiments.register("cli_test", {"n": int})
    def run_square(settings, progress=None):
        calls.append(settings)
        if progress is not None:
            progress("squaring", 0, 1)
            progress("squaring", 1, 1)
        fig, ax = gw.plotting.figure()
        ax.plot([0, settings["n"]], [0, settings["n"] ** 2])
        return gw.experiments.Result(numbers={"square": settings["n"] ** 2}, figures={"line": fig})

    yield folder
    del gw.experiments._KINDS["cli_test"]


def test_list_shows_name_kind_and_title(conf, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for expected in ("square", "cli_test", "A test experiment"):
        assert expected in out


def test_list_marks_an_invalid_file(conf, capsys):
    (conf / "broken.toml").write_text(TOML.format(n='"three"'), encoding="utf-8")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for expected in ("broken", "INVALID", "must be an int"):
        assert expected in out


def test_run_writes_png_svg_and_json(conf, tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["run", "square", "--out", str(out)]) == 0
    folder = out / "square"
    assert (folder / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (folder / "line.svg").read_text(encoding="utf-8")
    record = json.loads((folder / "numbers.json").read_text(encoding="utf-8"))
    assert record["numbers"] == {"square": 9}
    assert record["settings"] == {"n": 3}
    assert record["kind"] == "cli_test"
    assert "wrote numbers.json" in capsys.readouterr().out


def test_run_accepts_a_path_and_all(conf, tmp_path):
    out = tmp_path / "results"
    assert main(["run", str(conf / "square.toml"), "--out", str(out)]) == 0
    assert main(["run", "--all", "--out", str(out / "all")]) == 0
    assert (out / "all" / "square" / "numbers.json").is_file()


def test_svg_output_is_reproducible(conf, tmp_path):
    for name in ("a", "b"):
        assert main(["run", "square", "--out", str(tmp_path / name)]) == 0
    first = (tmp_path / "a" / "square" / "line.svg").read_bytes()
    assert first == (tmp_path / "b" / "square" / "line.svg").read_bytes()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TOML.format(n='"three"'), "setting 'n' must be an int"),
        (TOML.format(n=3) + "m = 1\n", "unknown setting 'm'"),
        (TOML.replace("n = {n}", ""), "missing setting 'n'"),
        (TOML.format(n=3).replace("cli_test", "nope"), "unknown kind 'nope'"),
        ("[experiment\n", "not valid TOML"),
    ],
)
def test_bad_settings_exit_2_with_a_one_line_message(conf, tmp_path, capsys, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_missing_experiment_lists_the_available_ones(conf, capsys):
    assert main(["run", "squares"]) == 2
    assert "available: square" in capsys.readouterr().err


def test_run_without_target_is_a_usage_error(conf):
    with pytest.raises(SystemExit) as info:
        main(["run"])
    assert info.value.code == 2
