"""``tinystyle`` command line: one module per subcommand, each with a ``register(subparsers)``.

Errors: a StudioError prints ``error: ...`` (and ``hint: ...``) to stderr and exits 2; anything
else is an internal error, exit 1. ``--debug`` re-raises for a traceback and lets third-party
warnings and logs through (``engine.logs``).
"""

from __future__ import annotations

import argparse
import importlib
import sys

import engine
from engine.errors import Cancelled, StudioError
from engine.logs import configure_console

# Subcommand modules under engine.cli, in the order `tinystyle --help` lists them.
COMMANDS = ("stylize", "styles", "info", "train", "instant", "train_library", "eval", "export",
            "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinystyle", description="Tiny, real-time neural style transfer."
    )
    parser.add_argument("--version", action="version", version=f"tinystyle {engine.__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks on errors, and third-party warnings and logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"engine.cli.{name}").register(sub)
    return parser


def print_error(exc: StudioError) -> None:
    """``error: ...`` and, if it has one, ``hint: ...`` on stderr (also for scripts/)."""
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_console(args.debug)
    try:
        return int(args.func(args) or 0)
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except StudioError as exc:
        if args.debug:
            raise
        print_error(exc)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # internal error: one line, no traceback unless --debug
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("hint: run again with --debug for details and report it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
