"""``engine`` exposes its public API lazily: cheap to import, every listed name resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

import engine


@pytest.mark.parametrize("name", engine.__all__)
def test_every_public_name_resolves(name):
    assert getattr(engine, name) is not None


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        engine.no_such_thing  # noqa: B018


def test_import_engine_loads_no_heavy_modules():
    code = "import sys, engine; print(sorted({'torch', 'onnxruntime'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("preset", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_torch_threads_wait_passively_unless_the_user_says(preset, expected):
    """Spinning OpenMP threads made training steps 3x slower on a busy 2-core machine."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    code = ("import os, engine.training.trainer, sys; "
            "assert 'torch' in sys.modules; print(os.environ['OMP_WAIT_POLICY'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.strip() == expected
