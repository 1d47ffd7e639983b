"""TinyStyle engine: tiny fast-style-transfer networks, training, runtime and export.

No Qt here: the studio is a thin layer over this package. Heavy modules (torch, onnxruntime,
coremltools) are imported by the submodules that need them, not at package import.
"""

__version__ = "0.1.0"
