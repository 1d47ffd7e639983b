"""Atomic file writes: a temp file in the target folder, then a rename. No partial outputs."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.errors import StudioError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` only on success.

    The temp file keeps the target's suffix so writers that pick a format by extension work.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=folder)
    except OSError as exc:
        raise StudioError(f"{folder}: cannot write here ({exc.strerror or exc})",
                          hint="choose a folder you can write to") from None
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get normal permissions
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(target: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``target`` atomically."""
    with atomic_path(target) as tmp:
        write(tmp)
    return Path(target)


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> Path:
    return write_atomic(target, lambda tmp: tmp.write_bytes(data))


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` to build a folder at; swap it in on success.

    An existing ``target`` (a folder or a file) is replaced only after the new one is complete.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=folder))
    except OSError as exc:
        raise StudioError(f"{folder}: cannot write here ({exc.strerror or exc})",
                          hint="choose a folder you can write to") from None
    tmp = work / target.name
    try:
        yield tmp
        if target.exists() or target.is_symlink():
            old = work / "old"
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
