"""The train-a-style wizard."""
