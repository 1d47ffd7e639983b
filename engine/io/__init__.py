"""Files in and out: images, atomic writes, our model files, where things live (paths)."""
