"""Loader of the m3ed corpus (being written; registers nothing yet)."""
