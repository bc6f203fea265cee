"""Loader of the meld corpus (being written; registers nothing yet)."""
