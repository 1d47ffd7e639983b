"""Making styles: the trainer, its data, the VGG loss network and losses, checkpoints, eval."""
