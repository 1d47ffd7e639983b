"""Running styles: the ONNX Runtime Stylizer, tiling, the live video path, the benchmark."""
