"""``tinystyle-studio --self-test`` from the source tree: the same checks the frozen builds run.

The frozen apps run it at the end of ``make dist``; here it runs unfrozen, full (torch present)
and as the light build sees it (torch hidden), and must fail loudly when a check fails.
"""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from engine.styles import list_styles
from studio import self_test

# Hides torch the way the light build leaves it out: importlib.util.find_spec -> None.
LIGHT = ("import sys; sys.modules['torch'] = None; sys.argv[1:] = ['--self-test']; "
         "from studio.app import main; sys.exit(main())")


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600)


def _statuses(stdout: str) -> dict[str, str]:
    lines = [line for line in stdout.splitlines() if ": " in line]
    return {name: rest.split(" ")[0] for name, rest in (line.split(": ", 1) for line in lines)}


def test_light_build_view_passes_and_says_training_is_not_included():
    """Without torch: everything but training and Core ML, instant styles included."""
    done = _run(["-c", LIGHT])
    assert done.returncode == 0, done.stdout + done.stderr
    status = _statuses(done.stdout)
    styles = [s.name for s in list_styles() if s.bundled]
    assert styles and all(status[f"stylize {name}"] == "ok" for name in styles)
    assert status["resources"] == status["window"] == status["live video"] == "ok"
    assert status["instant style"] == "ok"
    assert status["train"] == status["coreml export"] == "skipped"
    assert "not included" in done.stdout
    assert done.stdout.splitlines()[-1] == "self-test: passed"


@pytest.mark.slow
def test_full_self_test_trains_and_exports_core_ml():
    pytest.importorskip("coremltools")
    done = _run(["-m", "studio.app", "--self-test"])
    assert done.returncode == 0, done.stdout + done.stderr
    status = _statuses(done.stdout)
    assert status["train"] == status["coreml export"] == "ok"
    assert set(status.values()) == {"ok", "passed"}


def test_a_failing_check_is_reported_and_fails_the_run(monkeypatch, qapp):
    monkeypatch.setattr(self_test, "PHOTO", "no-such-photo.jpg")
    monkeypatch.setattr(self_test, "training_included", lambda: False)  # keep it quick
    out = io.StringIO()
    assert self_test.run_self_test(out) == 1
    lines = out.getvalue().splitlines()
    assert any(line.startswith("stylize ") and ": FAIL (" in line for line in lines)
    assert any(line.startswith("resources: ok") for line in lines)  # the others still ran
    assert lines[-1].startswith("self-test: FAILED (")
