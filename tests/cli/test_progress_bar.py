"""The console progress bar: draws in place on a terminal, stays silent elsewhere."""

from __future__ import annotations

import io

from engine.cli.progress_bar import ProgressBar


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_when_not_a_terminal():
    stream = io.StringIO()
    with ProgressBar(3, "work", stream=stream) as bar:
        bar.update(1, suffix="a.jpg")
        bar.write("error: a.jpg: broken")
        bar.update(3)
    assert stream.getvalue() == "error: a.jpg: broken\n"


def test_draws_in_place_and_keeps_other_lines_whole():
    stream, out = FakeTerminal(), io.StringIO()
    with ProgressBar(4, "stylize", stream=stream) as bar:
        bar.update(2, suffix="b.jpg")
        bar.write("/tmp/b-x.jpg", file=out)
        bar.update(4, suffix="d.jpg")
    text = stream.getvalue()
    assert out.getvalue() == "/tmp/b-x.jpg\n"
    assert "stylize 2/4 [##########..........]  50%" in text and "b.jpg" in text
    assert "stylize 4/4 [####################] 100%" in text
    assert text.endswith("\n") and "\n" not in text[:-1]  # one line, redrawn with \r


def test_render_fits_the_width_and_shows_eta():
    bar = ProgressBar(100, "train", stream=io.StringIO())
    bar._start -= 10.0  # ten seconds ago
    bar.update(25, suffix="loss 1.23")
    line = bar.render(60)
    assert len(line) <= 59
    assert "25/100" in line and "2.5/s" in line and "eta 0:30" in line
