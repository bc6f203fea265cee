"""An example third-party merbench plugin package (see README: "Adding a plugin")."""
