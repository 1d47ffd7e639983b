"""Atomic file writes: a temp file in the target folder, then a rename. No partial outputs.

Temp names are short and ours alone: ``.tinystyle-<random><suffix>``, so a legal 255-byte
target name still gets a legal temp name, and temps left by a killed process (kill -9 during a
save) are recognised and removed by the next write in that folder once they are stale.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.errors import StudioError

log = logging.getLogger(__name__)

TEMP_PREFIX = ".tinystyle-"  # every temp file and folder we create starts with this
MAX_TEMP_SUFFIX = 16  # bytes; longer suffixes are dropped from temp names (keeps them short)
STALE_SECONDS = 30 * 60  # a temp untouched this long belongs to a dead process
NAME_MAX = 255  # bytes in one file name on every file system we support


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_file_name(target: str | os.PathLike) -> None:
    """Refuse a target whose file name the file system cannot hold, before any work is done."""
    target = Path(target)
    size = len(os.fsencode(target.name))
    if size > NAME_MAX:
        raise StudioError(f"{target}: file name too long ({size} bytes, the limit is {NAME_MAX})",
                          hint="choose a shorter name")


def remove_stale_temps(folder: str | os.PathLike, *, max_age_s: float = STALE_SECONDS) -> None:
    """Delete our own temp files and folders in ``folder`` older than ``max_age_s``."""
    cutoff = time.time() - max_age_s
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(TEMP_PREFIX)]
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            log.info("removed stale temp %s", entry.path)
        except OSError:  # gone already, or not ours to delete: leave it
            continue


def _prepare(target: Path) -> Path:
    """The target's folder, created, with stale temps removed; a StudioError if unwritable."""
    check_file_name(target)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    remove_stale_temps(folder)
    return folder


def _unwritable(folder: Path, exc: OSError) -> StudioError:
    return StudioError(f"{folder}: cannot write here ({exc.strerror or exc})",
                       hint="choose a folder you can write to")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` only on success.

    The temp file keeps the target's suffix so writers that pick a format by extension work.
    """
    target = Path(target)
    folder = _prepare(target)
    suffix = target.suffix if len(os.fsencode(target.suffix)) <= MAX_TEMP_SUFFIX else ""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=folder)
    except OSError as exc:
        raise _unwritable(folder, exc) from None
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
    folder = _prepare(target)
    try:
        work = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=folder))
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    tmp = work / target.name
    try:
        yield tmp
        if target.exists() or target.is_symlink():
            old = work / "old"
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
