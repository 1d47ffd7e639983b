"""Neural networks: the image transformation network and the VGG loss network."""
