"""Loader of the manifest corpus (being written; registers nothing yet)."""
