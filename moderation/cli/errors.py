"""How every command reports failure: one line and an exit code, never a traceback."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sqlite3
import sys
import threading

import click

from ..errors import ModerationError


class CommandError(click.ClickException):
    """A one-line error with its own exit code (a ModerationError keeps its code, e.g. 3)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so that every ``finally`` (atomic writes) runs."""


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def sigterm_raises():
    """While a command runs, SIGTERM raises instead of killing the process outright.

    The default action ends the process without running ``finally`` blocks, which left a 0-byte
    ``*.tmp`` beside `filter`'s output (issue 9 item 13); raised, it unwinds like Ctrl-C does.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def reports_errors(function):
    """Turn our exceptions, database errors and the OS errors of files we touch into one-line messages."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            with sigterm_raises():
                return function(*args, **kwargs)
        except Terminated:
            click.echo("terminated", err=True)
            sys.exit(128 + signal.SIGTERM)
        except ModerationError as error:  # first: some are ValueErrors too (TooLittleTextError)
            raise CommandError(str(error), error.exit_code) from None
        except UnicodeEncodeError as error:
            # Backstop for readers that let a lone surrogate through (a JSON "\ud800" escape, or a
            # decoder named by --encoding): it cannot be written as UTF-8, so it is bad input.
            bad = error.object[error.start : error.end]
            raise CommandError(f"the input holds text that is not valid Unicode ({bad!a}: {error.reason})") from None
        except ValueError as error:
            # Backstop for JSON readers outside moderation.formats (labeled data): Python refuses an
            # integer of over 4,300 digits with a ValueError, not a JSONDecodeError.
            if "integer string conversion" not in str(error):
                raise
            raise CommandError(f"the input holds a number too long to read ({str(error).split(';')[0]})") from None
        except BrokenPipeError:
            # `moderation score page | head`: the reader left; stop quietly, as other Unix tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except sqlite3.Error as error:
            raise CommandError(f"database error: {error}") from None
        except Exception as error:
            # PostgreSQL's driver is an optional extra, so its errors are recognised by module rather
            # than imported: a server that goes away mid-command is one line, as SQLite's errors are.
            if not type(error).__module__.startswith("psycopg"):
                raise
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CommandError(f"database error: {first}") from None
        except OSError as error:
            target = f"{error.filename}: " if error.filename else ""
            raise CommandError(f"{target}{error.strerror or error}") from None
        except KeyboardInterrupt:
            raise click.Abort() from None

    return wrapper
