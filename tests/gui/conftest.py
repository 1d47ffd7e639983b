"""GUI test fixtures: a real main window with temporary settings, a tiny real style model,
helpers to drop files like a user, and a guard that fails tests leaving QThreads running."""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QThread, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

THREAD_GRACE_MS = 3000  # a thread may take this long to notice its stop flag


def _running_qthreads() -> list[QThread]:
    gc.collect()
    # type() rather than isinstance(): it never touches lazy modules' __class__ (torch warns)
    return [o for o in gc.get_objects() if issubclass(type(o), QThread) and o.isRunning()
            and o is not QThread.currentThread()]


@pytest.fixture(autouse=True)
def no_leaked_qthreads(qapp):
    """Fail the test if it leaves a QThread running (napari's leak fixtures do the same)."""
    yield
    leaked = _running_qthreads()
    for thread in leaked:
        thread.wait(THREAD_GRACE_MS)
    still = [t.objectName() or repr(t) for t in _running_qthreads()]
    if still:
        pytest.fail(f"test left QThreads running: {still}")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A real seed-tiny network (random weights) exported with the engine's ONNX exporter."""
    import torch

    from engine.card import ModelCard
    from engine.export.to_onnx import export_onnx
    from engine.models.config import net_preset
    from engine.models.transformer import TransformerNet

    torch.manual_seed(0)
    net = TransformerNet(net_preset("seed-tiny")).eval()
    card = ModelCard(name="test-tiny", title="Test Tiny", artist="Nobody", year="2024",
                     preset="seed-tiny")
    return export_onnx(net, card, tmp_path_factory.mktemp("model") / "test-tiny.onnx")


@pytest.fixture
def user_style(tiny_model, isolated_home) -> Path:
    """The tiny model installed as a user style (with a thumbnail), so the gallery lists it."""
    from engine.io.paths import user_styles_dir

    folder = user_styles_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "test-tiny.onnx"
    shutil.copyfile(tiny_model, target)
    return target


@pytest.fixture
def settings(tmp_path) -> QSettings:
    """Settings in a temporary INI file: tests never touch the user's real settings."""
    return QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    from studio.application import create_app
    from studio.main_window import MainWindow

    create_app([])
    win = MainWindow(settings, reveal_exports=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: not win.jobs.is_running("styles"), timeout=10_000)
    yield win
    win.shutdown()


def drop_files(target: QWidget, paths: list[Path]) -> None:
    """Drag-enter and drop ``paths`` on ``target`` with real Qt drag-and-drop events."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(target.width() / 2, target.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime,  # QPoint only
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the widget refused the drag"
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
