"""One exception type for every mistake a user can fix: the CLI prints it as one line, no traceback."""

import argparse


class UserError(Exception):
    """A bad input (config, data, token, hardware) with a message that says what is wrong and how to fix it."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose mistakes (unknown option, bad value) are a UserError: one line, not the usage text too."""

    def error(self, message: str):
        """Raise instead of printing the usage and exiting."""
        raise UserError(f"{self.prog}: {message} (`{self.prog} --help` lists the options)")
