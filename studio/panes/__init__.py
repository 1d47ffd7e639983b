"""The main window's panes: gallery, image mode, webcam mode. They own no threads."""
