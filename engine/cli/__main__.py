"""``python -m engine.cli``: the ``tinystyle`` command, for launchers that take a module
(``torchrun --nproc-per-node 2 -m engine.cli train ...``)."""

import sys

from engine.cli import main

if __name__ == "__main__":  # importing this module (tests import every engine module) runs nothing
    sys.exit(main())
