"""The one exception type for errors a user can cause.

A `UserError` (bad path, bad corpus file, unknown plugin, bad option) is caught by the CLI, printed as
one line naming the culprit, and ends the command with exit status 2, without a traceback. Anything
else is an internal bug and may raise.
"""


class UserError(Exception):
    """An error the user can fix; its message is one line that names the culprit."""

    exit_code = 2
