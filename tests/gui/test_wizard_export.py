"""The train wizard end to end (20 tiny steps) and exporting a style for iPhone and as ONNX."""

from __future__ import annotations

import shutil

import onnx
import pytest
from PySide6.QtWidgets import QWizard

from engine.training.config import default_train_preset
from tests.gui.conftest import drop_files


@pytest.fixture
def photos_folder(tmp_path, bundled_photos):
    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in bundled_photos[:4]:
        shutil.copy(photo, folder / photo.name)
    return folder


@pytest.mark.slow
def test_wizard_trains_and_style_joins_gallery(qtbot, window, bundled_photos, photos_folder):
    window.open_wizard()
    wizard = window.wizard
    painting = bundled_photos[-1]
    drop_files(wizard.painting_page.drop, [painting])
    wizard.painting_page.title_edit.setText("Tiny Test")
    wizard.painting_page.name_edit.setText("tiny-test")
    wizard.next()  # crop preview
    assert wizard.currentPage().preview.pixmap() is not None
    wizard.next()  # photos
    wizard.content_page.folder_edit.setText(str(photos_folder))
    wizard.content_page.use_folder.setChecked(True)
    wizard.next()  # size and quality
    wizard.preset_page.steps.setValue(20)
    wizard.preset_page.image_size.setValue(32)
    assert wizard.preset_page.quality.currentData() == default_train_preset()
    wizard.config_overrides = {"batch_size": 2, "style_size": 64, "preview_every": 5,
                               "checkpoint_every": 10, "teacher_pairs": 4}
    wizard.next()
    assert wizard.currentPage() is wizard.train_page
    assert not wizard.button(QWizard.WizardButton.FinishButton).isEnabled()

    with qtbot.waitSignal(wizard.styleInstalled, timeout=240_000) as installed, \
            qtbot.waitSignal(window.gallery.stylesLoaded, timeout=240_000):
        wizard.train_page.start_button.click()
    assert installed.args == ["tiny-test"]
    assert len(wizard.train_page.curve.points()) > 5
    assert wizard.train_page.progress.value() == 20
    titles = {s.name: s.title for s in window.gallery.styles()}
    assert titles["tiny-test"] == "Tiny Test"  # the typed title reaches the card and gallery
    assert window.state.style == "tiny-test"
    qtbot.waitUntil(lambda: not wizard.is_training(), timeout=10_000)
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()


def test_export_writes_coreml_bundle_and_onnx(qtbot, window, user_style, tmp_path):
    window.gallery.refresh(select="test-tiny")
    qtbot.waitUntil(lambda: window.state.style == "test-tiny", timeout=10_000)
    style = window.gallery.current_style()
    with qtbot.waitSignal(window.exporter.exported, timeout=180_000) as done:
        window.exporter.export_ios(style, tmp_path / "ios")
    bundle = done.args[0]
    assert bundle.exists()
    written = [p for p in bundle.rglob("*") if p.is_file()] if bundle.is_dir() else [bundle]
    assert any(p.suffix in (".mlmodel", ".mlpackage") or ".mlpackage" in str(p) for p in written)

    with qtbot.waitSignal(window.exporter.exported, timeout=30_000) as copied:
        window.exporter.export_onnx(style, tmp_path / "copy.onnx")
    model = onnx.load(str(copied.args[0]))
    assert {p.key: p.value for p in model.metadata_props}["name"] == "test-tiny"


def test_cancelled_ios_export_writes_nothing_and_reveals_nothing(qtbot, window, user_style,
                                                                 tmp_path):
    window.gallery.refresh(select="test-tiny")
    qtbot.waitUntil(lambda: window.state.style == "test-tiny", timeout=10_000)
    exported = []
    window.exporter.exported.connect(exported.append)
    out = tmp_path / "ios"
    window.exporter.export_ios(window.gallery.current_style(), out)
    worker = window.jobs.worker("export")
    with qtbot.waitSignal(worker.cancelled, timeout=180_000):
        window.exporter.cancel()
    qtbot.waitUntil(lambda: not window.jobs.is_running("export"), timeout=10_000)
    assert exported == []
    assert not out.exists() or not any(out.iterdir())  # no bundle, no zip, no temp folder


def test_a_new_export_replaces_the_running_one(qtbot, window, user_style, tmp_path):
    window.gallery.refresh(select="test-tiny")
    qtbot.waitUntil(lambda: window.state.style == "test-tiny", timeout=10_000)
    style = window.gallery.current_style()
    exported = []
    window.exporter.exported.connect(exported.append)
    window.exporter.export_ios(style, tmp_path / "ios")
    replaced = window.jobs.worker("export")
    with qtbot.waitSignals([replaced.done, window.exporter.exported], timeout=180_000):
        window.exporter.export_onnx(style, tmp_path / "copy.onnx")
    qtbot.wait(200)  # anything the replaced export still had queued arrives now
    assert exported == [tmp_path / "copy.onnx"]  # the replaced iPhone export reveals nothing
    assert not (tmp_path / "ios").exists() or not any((tmp_path / "ios").iterdir())


def test_gallery_imports_dropped_model_and_searches(qtbot, window, tiny_model, tmp_path):
    dropped = tmp_path / "dropped-style.onnx"
    shutil.copy(tiny_model, dropped)
    with qtbot.waitSignal(window.gallery.stylesLoaded, timeout=20_000):
        drop_files(window.gallery, [dropped])
    qtbot.waitUntil(lambda: window.gallery.current_style() is not None, timeout=5_000)
    names = [s.name for s in window.gallery.styles() if not s.bundled]
    assert names == ["test-tiny"]  # imported under the name in its model card
    assert len(window.gallery.styles()) > 1  # beside the bundled styles
    window.gallery.search.setText("no such painting")
    visible = [i for i in range(window.gallery.list.count())
               if not window.gallery.list.item(i).isHidden()]
    assert visible == []
    window.gallery.search.clear()

    with qtbot.waitSignal(window.gallery.stylesLoaded, timeout=20_000):
        window.gallery.rename_style("test-tiny", "renamed-style")
    assert "renamed-style" in [s.name for s in window.gallery.styles()]
    with qtbot.waitSignal(window.gallery.stylesLoaded, timeout=20_000):
        window.gallery.delete_style("renamed-style")
    assert "renamed-style" not in [s.name for s in window.gallery.styles()]
