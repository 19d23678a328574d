"""The kit's own Jinja extension, which cookiecutter imports into its process (cookiecutter.json `_extensions`).

When the pre-generation hook refuses an answer it prints one line saying what to change and exits 1. Cookiecutter
then logs the failure with `logger.exception`, a traceback of its own code the user can do nothing with; no command
line flag or setting turns that off (cookiecutter 2.7). Hooks run in a child process, so only code imported into
cookiecutter itself can quiet it: this extension, which adds no Jinja syntax, filters that one record.
"""

import logging

from jinja2.ext import Extension


class _HookLineOnly(logging.Filter):
    """Drop cookiecutter's traceback record for a failed hook (the hook has said what is wrong)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and type(record.exc_info[1]).__name__ == "FailedHookException")


class QuietHookFailure(Extension):
    """Loading it installs the filter on cookiecutter's hook logger, once."""

    def __init__(self, environment):
        super().__init__(environment)
        logger = logging.getLogger("cookiecutter.hooks")
        if not any(isinstance(f, _HookLineOnly) for f in logger.filters):
            logger.addFilter(_HookLineOnly())
