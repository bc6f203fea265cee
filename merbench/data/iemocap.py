"""Loader of the iemocap corpus (being written; registers nothing yet)."""
