"""scripts/retrain_styles.py on recipes it cannot use: a message and exit 2, never a traceback,
and nothing written (the shipped models stay as they are)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RECIPES = {
    "steps": '[painting]\nfile = "x.jpg"\n[train]\npreset = "painted"\nsteps = -3\n',
    "toml": "[painting\nfile =",
}


@pytest.mark.parametrize(("name", "expected"), [
    ("steps", "steps and learning rate must be positive"),
    ("toml", "not a TOML recipe"),
    ("absent", "no recipe"),
])
def test_a_bad_recipe_is_a_message_not_a_traceback(tmp_path, name, expected):
    for stem, text in RECIPES.items():
        (tmp_path / f"{stem}.toml").write_text(text)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "scripts/retrain_styles.py", name, "--recipes", str(tmp_path),
         "--out", str(out), "--runs", str(tmp_path / "runs")],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
