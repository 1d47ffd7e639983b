"""Shipping styles: small ONNX files (to_onnx) and Core ML models for iPhone (coreml/)."""
