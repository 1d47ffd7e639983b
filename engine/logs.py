"""Console quiet for the CLI: our own messages only, third-party chatter only under ``--debug``.

The contract is one ``error:`` line per problem. numpy RuntimeWarnings on NaN pixels, ONNX
Runtime's coloured log lines, torch exporter and coremltools warnings and progress bars would
break it, so they are silenced here, in one place, rather than in each module that triggers
them. ONNX Runtime's telemetry is switched off in every mode.
"""

from __future__ import annotations

import logging
import os
import warnings

# Loggers of libraries we call; their warnings are not actionable for a user of the CLI.
THIRD_PARTY_LOGGERS = ("torch", "onnx", "onnxscript", "onnx_ir", "onnxruntime", "coremltools",
                       "PIL", "matplotlib")
ORT_ERROR_SEVERITY = 3  # ONNX Runtime log severity: 0 verbose .. 3 error, 4 fatal


def configure_console(debug: bool) -> None:
    """Set up logging for a command-line run; everything third-party is shown with ``debug``."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    quiet_onnxruntime(debug)
    if debug:
        return
    # Environment switches must be set before the libraries import (they import lazily).
    os.environ.setdefault("TORCH_LOGS", "-all")  # torch's own handler: errors only
    os.environ.setdefault("TQDM_DISABLE", "1")  # coremltools' conversion progress bars
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.simplefilter("ignore")  # the engine reports through logging, not warnings


def quiet_onnxruntime(debug: bool = False) -> None:
    """No telemetry ever; errors only on the console unless ``debug``."""
    import onnxruntime as ort

    if hasattr(ort, "disable_telemetry_events"):
        ort.disable_telemetry_events()
    if not debug:
        ort.set_default_logger_severity(ORT_ERROR_SEVERITY)
