"""Errors said to the user in one line, without a traceback."""


class UsageError(Exception):
    """A one-line error for the user; the command exits with status 2."""
