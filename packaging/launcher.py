"""Frozen entry point: the same ``main()`` as the ``tinystyle-studio`` console script.

A separate script, not studio/app.py itself, so ``studio.app`` is imported once as a module
rather than a second time as ``__main__``.
"""

import sys

from studio.app import main

sys.exit(main())
