"""An example third-party merbench plugin package (see docs/plugins.md)."""
