"""Background workers: QObjects moved to QThreads. Panes talk to them only through signals."""
