"""Errors the engine raises on purpose: each carries a one-line message and an optional hint.

The CLI prints them as ``error: ...`` / ``hint: ...`` with exit code 2; the studio shows them in
a dialog. Anything else that escapes is an internal error (exit code 1).
"""

from __future__ import annotations


def first_line(exc: object, limit: int = 200) -> str:
    """The first line of an exception's message (``limit`` characters at most), or its type's
    name when it has none: libraries such as ONNX Runtime put pages of detail after it."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


class StudioError(Exception):
    """A problem the user can fix: bad input, missing dependency, unwritable folder."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ImageFormatError(StudioError):
    """An input file that is not a usable image (empty, truncated, corrupt, too large...)."""


class VideoFormatError(StudioError):
    """An input that is not a usable video (no video track, corrupt) or an output it cannot be."""


class ModelLoadError(StudioError):
    """A model file that is not one of ours, is corrupt, or has the wrong inputs."""


class BackendUnavailableError(StudioError):
    """An optional dependency or execution provider is missing."""


class ExportError(StudioError):
    """An export that cannot be made (unsupported model, bad size range, unwritable target)."""


class TrainingError(StudioError):
    """Training cannot start or continue (no style image, no content photos, bad checkpoint)."""


class Cancelled(StudioError):
    """A long job was cancelled by the user; not a failure."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


class EngineWarning(UserWarning):
    """Warnings the engine emits; the test suite turns them into errors."""
