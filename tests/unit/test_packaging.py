"""The wheel is the whole product: every package, the bundled styles and photos, found installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_in_the_wheel_list():
    """pyproject lists packages by hand (for the resources mapping): none may be forgotten."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    on_disk = {str(init.parent.relative_to(ROOT)).replace(os.sep, ".")
               for top in ("engine", "studio") for init in (ROOT / top).rglob("__init__.py")}
    assert on_disk | {"tinystyle_resources"} == listed


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_installed_wheel_stylizes_and_trains(tmp_path):
    """Build the wheel, install it (no source tree on the path) and use it as a user would."""
    # build from a clean copy: setuptools' build/ folder in the checkout may hold stale modules
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "runs", "*.egg-info", "__pycache__", ".*cache"))
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
          "-w", str(tmp_path / "dist"), str(source)], tmp_path, dict(os.environ))
    wheel = next((tmp_path / "dist").glob("tinystyle_studio-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, dict(os.environ))
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
          "--no-index", str(wheel)], tmp_path, dict(os.environ))
    # the dependencies come from the test venv's site-packages, but not its editable checkout
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     tmp_path, dict(os.environ)).strip())
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {**os.environ, "TINYSTYLE_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    tinystyle = str(venv / "bin" / "tinystyle")

    where = _run([str(python), "-c", "import engine, tinystyle_resources; "
                  "print(engine.__file__); print(tinystyle_resources.__file__)"], tmp_path, env)
    assert str(ROOT) not in where, where
    assert "starry-night" in _run([tinystyle, "styles"], tmp_path, env)
    photos = Path(where.splitlines()[1]).parent / "photos"
    photo = sorted(photos.glob("*.jpg"))[0]
    _run([tinystyle, "stylize", str(photo), "--style", "starry-night", "-o",
          str(tmp_path / "out.png")], tmp_path, env)
    assert (tmp_path / "out.png").stat().st_size > 1000
    painting = Path(where.splitlines()[1]).parent / "styles" / "starry-night.jpg"
    # refine: the teacher and the instant style from the installed packages, 100 teacher
    # passes (the default preset's 2,400 took this test to ~200 s)
    _run([tinystyle, "train", str(painting), "--name", "wheel-test", "--preset", "refine",
          "--steps", "2", "--image-size", "64", "--batch-size", "1"], tmp_path, env)
    assert "wheel-test" in _run([tinystyle, "styles"], tmp_path, env)
