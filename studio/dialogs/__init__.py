"""Dialogs: export, about."""
