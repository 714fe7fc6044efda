"""The nox sessions' own behaviour: what docs-live does with SIGTERM.

``nox -s docs-live`` runs a server (sphinx-autobuild) as a child of nox. nox stops its child on
KeyboardInterrupt; the session turns SIGTERM into one, so that stopping nox with either Ctrl-C
or SIGTERM never leaves the server running. This test runs the same handler around nox's own
``popen`` with a stand-in server (a sleeping Python) and checks that SIGTERM stops both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("nox", reason="nox is in the test dependency group")

SUPERVISOR = textwrap.dedent(
    """
    import importlib.util, signal, sys
    from nox.popen import popen

    spec = importlib.util.spec_from_file_location("noxfile", sys.argv[1])
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    signal.signal(signal.SIGTERM, noxfile._interrupt)  # as the docs-live session does
    serve = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
    server = [sys.executable, "-c", serve]
    try:
        popen(server, stdout=sys.stdout, stderr=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_to_docs_live_stops_its_server(tmp_path: Path) -> None:
    script = tmp_path / "supervisor.py"
    script.write_text(SUPERVISOR, encoding="utf-8")
    supervisor = subprocess.Popen(
        [sys.executable, str(script), str(ROOT / "noxfile.py")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert supervisor.stdout is not None
    server_pid = int(supervisor.stdout.readline())
    assert _alive(server_pid)
    supervisor.send_signal(signal.SIGTERM)
    out, _ = supervisor.communicate(timeout=30)
    assert "interrupted" in out
    deadline = time.monotonic() + 10
    while _alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(server_pid), "the server outlived the session"
