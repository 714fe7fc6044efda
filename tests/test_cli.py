"""The command line: list, run, output files, and errors that come before any output."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gradwatch import experiments
from gradwatch.__main__ import main

TOML = '[experiment]\ntitle = "A test experiment"\ndescription = "Squares n."\n\n[settings]\n'


@dataclass(frozen=True)
class Settings:
    """Settings of the fake experiment ``square``."""

    n: int
    thresholds: list[float] = dataclasses.field(default_factory=lambda: [1.0])

    def __post_init__(self) -> None:
        experiments.positive("n", self.n)
        experiments.positive("thresholds", self.thresholds)


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A conf folder with square.toml, and a fake experiment module ``square``."""
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "square.toml").write_text(TOML + "n = 3\n", encoding="utf-8")
    monkeypatch.setenv("GRADWATCH_CONF_DIR", str(folder))
    module = types.ModuleType("gradwatch.experiments.square")
    calls: list[Any] = []

    def run(settings: Settings, progress: Any = experiments.no_progress, *, figures: bool = True):
        calls.append(settings)
        progress("squaring", 0, 1)
        progress("squaring", 1, 1)
        drawn = {}
        if figures:
            from gradwatch import plotting

            fig, ax = plotting.figure()
            ax.plot([0, settings.n], [0, settings.n**2])
            drawn["line"] = fig
        return experiments.Result(numbers={"square": settings.n**2}, figures=drawn)

    module.Settings = Settings  # type: ignore[attr-defined]
    module.run = run  # type: ignore[attr-defined]
    module.calls = calls  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    real = experiments.names()
    monkeypatch.setattr(experiments, "names", lambda: sorted([*real, "square"]))
    return folder


def calls() -> list[Any]:
    return sys.modules["gradwatch.experiments.square"].calls  # type: ignore[no-any-return]


def test_list_shows_name_and_title(conf, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "square" in out
    assert "A test experiment" in out


def test_list_marks_an_invalid_file(conf, capsys):
    (conf / "broken.toml").write_text(TOML + 'n = "three"\n', encoding="utf-8")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "broken" in out
    assert "INVALID" in out


def test_run_writes_png_svg_and_json(conf, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "results"
    assert main(["run", "square", "--out", str(out)]) == 0
    folder = out / "square"
    assert (folder / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (folder / "line.svg").read_text(encoding="utf-8")
    record = json.loads((folder / "numbers.json").read_text(encoding="utf-8"))
    assert record["numbers"] == {"square": 9}
    assert record["settings"] == {"n": 3, "thresholds": [1.0]}
    assert record["experiment"] == "square"
    assert "wrote numbers.json and 2 figure files" in capsys.readouterr().out


def test_no_figures_writes_numbers_only(conf, tmp_path):
    out = tmp_path / "results"
    assert main(["run", "square", "--no-figures", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "square").iterdir()) == ["numbers.json"]


def test_missing_matplotlib_is_said_before_running(conf, tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    out = tmp_path / "results"
    assert main(["run", "square", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'gradwatch[plot]'" in err
    assert "--no-figures" in err
    assert not out.exists()
    assert calls() == []


def test_run_accepts_a_path_all_and_conf_dir(conf, tmp_path, monkeypatch):
    out = tmp_path / "results"
    assert main(["run", str(conf / "square.toml"), "--no-figures", "--out", str(out)]) == 0
    monkeypatch.delenv("GRADWATCH_CONF_DIR")
    other = tmp_path / "other"
    other.mkdir()
    (other / "square.toml").write_text(TOML + "n = 4\n", encoding="utf-8")
    args = ["run", "--all", "--conf-dir", str(other), "--no-figures", "--out", str(out / "all")]
    assert main(args) == 0
    record = json.loads((out / "all" / "square" / "numbers.json").read_text(encoding="utf-8"))
    assert record["numbers"] == {"square": 16}


def test_svg_output_is_reproducible(conf, tmp_path):
    pytest.importorskip("matplotlib")
    for name in ("a", "b"):
        assert main(["run", "square", "--out", str(tmp_path / name)]) == 0
    first = (tmp_path / "a" / "square" / "line.svg").read_bytes()
    assert first == (tmp_path / "b" / "square" / "line.svg").read_bytes()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TOML + 'n = "three"\n', "setting 'n' = 'three'"),
        (TOML + "n = -5\n", "setting 'n' = -5: expected a positive number"),
        (TOML + "n = 3\nthresholds = []\n", "setting 'thresholds' = []"),
        (TOML + "n = 3\nm = 1\n", "unknown setting 'm'"),
        (TOML, "missing setting 'n'"),
        ("[experiment\n", "not valid TOML"),
    ],
)
def test_bad_settings_exit_2_and_write_nothing(conf, tmp_path, capsys, text, message):
    bad = tmp_path / "bad"
    bad.mkdir()
    path = bad / "square.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    # The good file named first is not run either: every file is checked before anything runs.
    assert main(["run", "square", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert str(path) in err
    assert err.count("\n") == 1
    assert not out.exists()
    assert calls() == []


def test_unreadable_inputs_exit_2(conf, tmp_path, capsys):
    latin = tmp_path / "square.toml"
    latin.write_bytes(b"[settings]\nn = 3 # caf\xe9\n")
    assert main(["run", str(latin)]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    assert main(["run", str(folder)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["run", "square", "--conf-dir", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_bad_out_is_checked_before_computing(conf, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    assert main(["run", "square", "--no-figures", "--out", str(a_file / "sub")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert calls() == []


def test_unwritable_out_is_checked_before_computing(conf, tmp_path, capsys, monkeypatch):
    # Permission bits do not stop root (CI runs as root), so the refusal is simulated.
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode))
    assert main(["run", "square", "--no-figures", "--out", str(locked / "r")]) == 2
    assert "is not writable" in capsys.readouterr().err
    assert calls() == []


def test_an_out_folder_that_cannot_be_created_fails_before_computing(
    conf, tmp_path, capsys, monkeypatch
):
    # It passes the checks of the path (under /proc, on a read-only or full file system, the
    # permission bits say nothing); the folder is created before the run, which then never
    # happens, and the system's reason is reported without a traceback.
    def refuse(self, *args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["run", "square", "--no-figures", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "cannot create the folder: Read-only file system" in err
    assert calls() == []


def test_a_failed_load_creates_no_out_folder(conf, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["run", "no_such_experiment", "--no-figures", "--out", str(out)]) == 2
    assert not out.exists()


def test_missing_experiment_lists_the_available_ones(conf, capsys):
    assert main(["run", "squares"]) == 2
    assert "available: square" in capsys.readouterr().err


def test_run_without_target_is_a_usage_error(conf):
    with pytest.raises(SystemExit) as info:
        main(["run"])
    assert info.value.code == 2
