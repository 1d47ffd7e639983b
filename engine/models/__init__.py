"""The style network: its config and named presets (config) and its layers (transformer)."""
