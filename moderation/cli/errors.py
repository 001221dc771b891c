"""How every command reports failure: one line and an exit code, never a traceback."""

from __future__ import annotations

import functools
import os
import sqlite3
import sys

import click

from ..errors import ModerationError


class CommandError(click.ClickException):
    """A one-line error with its own exit code (a ModerationError keeps its code, e.g. 3)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def reports_errors(function):
    """Turn our exceptions, database errors and the OS errors of files we touch into one-line messages."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except ModerationError as error:
            raise CommandError(str(error), error.exit_code) from None
        except BrokenPipeError:
            # `moderation score page | head`: the reader left; stop quietly, as other Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except sqlite3.Error as error:
            raise CommandError(f"database error: {error}") from None
        except OSError as error:
            target = f"{error.filename}: " if error.filename else ""
            raise CommandError(f"{target}{error.strerror or error}") from None
        except KeyboardInterrupt:
            raise click.Abort() from None

    return wrapper
