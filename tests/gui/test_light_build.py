"""Without PyTorch (the light desktop build) training and iPhone export say why they are off."""

from __future__ import annotations

from studio.main_window import MainWindow


def test_light_build_greys_out_training_and_iphone_export(qtbot, settings, user_style,
                                                         monkeypatch):
    from engine import deps
    from studio.panes import gallery_pane

    monkeypatch.setattr(deps, "training_included", lambda: False)
    monkeypatch.setattr(gallery_pane, "training_included", lambda: False)
    monkeypatch.setattr("studio.main_window.training_included", lambda: False)
    window = MainWindow(settings, reveal_exports=False)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.gallery.current_style() is not None, timeout=10_000)
        actions = {a.text(): a for a in window.menuBar().actions()[1].menu().actions()}
        for name in ("&Train a new style…", "&Instant style from a painting…",
                     "Export to &iPhone…"):
            assert not actions[name].isEnabled() and "PyTorch" in actions[name].toolTip()
        assert not window.gallery.ios_button.isEnabled()
        assert "PyTorch" in window.gallery.ios_button.toolTip()
        assert not window.gallery.instant_button.isEnabled()
        assert "PyTorch" in window.gallery.instant_button.toolTip()
        assert window.gallery.onnx_button.isEnabled()  # what the light build can still do
    finally:
        window.shutdown()
