"""Start-up only: create the QApplication and the main window."""

from __future__ import annotations

import sys


def main() -> int:
    print("TinyStyle Studio: the GUI is coming (see issue 5).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
