"""A one-line console progress bar on stderr for long CLI commands (no dependency).

It draws only when its stream is a terminal, so logs, pipes and tests see clean output. Other
lines printed while it runs go through ``ProgressBar.write`` so the bar never garbles them.

    with ProgressBar(len(files), "stylize") as bar:
        for i, f in enumerate(files, 1):
            ...
            bar.write(str(out), file=sys.stdout)
            bar.update(i, suffix=f.name)
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

# Redraw at most this often (seconds): a terminal is slow compared with a fast loop.
_MIN_REDRAW_S = 0.1


class ProgressBar:
    """``label  12/317 [####......]  4%  2.1/s  eta 2:25  suffix`` redrawn in place."""

    def __init__(self, total: int, label: str = "", *, stream: TextIO | None = None,
                 enabled: bool | None = None) -> None:
        self.total = max(0, int(total))
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self._suffix = ""
        self._start = time.monotonic()
        self._last_draw = float("-inf")
        self._drawn = False

    def update(self, done: int, suffix: str = "") -> None:
        """Set the number of finished items (absolute, not an increment) and redraw."""
        self.done = min(int(done), self.total) if self.total else int(done)
        self._suffix = suffix
        now = time.monotonic()
        if now - self._last_draw >= _MIN_REDRAW_S or self.done >= self.total:
            self._last_draw = now
            self._draw()

    def write(self, text: str, file: TextIO | None = None) -> None:
        """Print a full line (to ``file``, default the bar's stream) without garbling the bar."""
        self._clear()
        target = file if file is not None else self.stream
        print(text, file=target, flush=True)
        if self._drawn:
            self._draw()

    def close(self) -> None:
        """Finish the bar's line so the next output starts on a fresh one."""
        if self.enabled and self._drawn:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False
        self.enabled = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def render(self, width: int) -> str:
        """The bar's text for a terminal ``width`` columns wide."""
        elapsed = time.monotonic() - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        count = f"{self.done}/{self.total}" if self.total else str(self.done)
        parts = [self.label, count]
        if self.total:
            filled = round(20 * self.done / self.total)
            percent = 100 * self.done // self.total
            parts.append(f"[{'#' * filled}{'.' * (20 - filled)}] {percent:3d}%")
        if rate > 0:
            parts.append(f"{rate:.1f}/s")
            if self.total and self.done < self.total:
                parts.append(f"eta {_clock((self.total - self.done) / rate)}")
        parts.append(self._suffix)
        return " ".join(p for p in parts if p)[: max(10, width - 1)]

    def _draw(self) -> None:
        if not self.enabled:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        self.stream.write("\r" + self.render(width).ljust(width - 1))
        self.stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self.enabled and self._drawn:
            width = shutil.get_terminal_size((80, 24)).columns
            self.stream.write("\r" + " " * (width - 1) + "\r")
            self.stream.flush()


def _clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
