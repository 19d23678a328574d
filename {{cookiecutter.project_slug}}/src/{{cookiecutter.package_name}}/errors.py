"""One exception type for every mistake a user can fix: the CLI prints it as one line, no traceback."""


class UserError(Exception):
    """A bad input (config, data, token, hardware) with a message that says what is wrong and how to fix it."""
