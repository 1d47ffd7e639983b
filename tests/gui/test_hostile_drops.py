"""Issue 13 in the studio: hostile files dropped or imported show the engine's clear message."""

from __future__ import annotations

from hostile_cases import loop_model, write_postscript_jpg

from tests.gui.conftest import drop_files


def test_postscript_jpg_drop_shows_the_error(qtbot, window, tmp_path):
    path = write_postscript_jpg(tmp_path)
    with qtbot.waitSignal(window.errors.errorShown, timeout=10_000) as shown:
        drop_files(window.image_pane, [path])
    assert shown.args[0] == f"{path}: not an image file (unknown or unsupported format)"
    assert window.image_pane.current_image() is None and window.isVisible()


def test_importing_a_looping_model_shows_the_error(qtbot, window, tmp_path):
    model = loop_model(tmp_path / "loop.onnx")
    with qtbot.waitSignal(window.errors.errorShown, timeout=10_000) as shown:
        window.gallery.import_model(model)
    assert shown.args[0].startswith(f"{model}: uses the operator 'Loop'")
    assert "loop" not in [s.name for s in window.gallery.styles()]
