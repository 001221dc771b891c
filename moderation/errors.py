"""Our exceptions. The CLI turns each into a one-line message and an exit code; nothing else escapes."""

from __future__ import annotations


class ModerationError(Exception):
    """Base class: anything the user can fix, reported in one line."""

    exit_code = 1

    def __init__(self, message: object = "", *args: object):
        # Messages quote input (a CSV field, an XML fragment) that may hold line breaks; escaped, the
        # message stays one line wherever it is shown. Found by the hypothesis test of the readers.
        super().__init__(str(message).replace("\r", "\\r").replace("\n", "\\n"), *args)


class InputError(ModerationError):
    """A file is missing, unreadable, binary, too large or not text."""


class ParseError(ModerationError):
    """A file was read but its content is malformed for the format it claims to be."""

    def __init__(self, message: str, *, line: int | None = None, element: str | None = None):
        where = []
        if line is not None:
            where.append(f"line {line}")
        if element:
            where.append(f"element <{element}>")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.line = line
        self.element = element


class NoCommentsError(ModerationError):
    """A page was parsed but has no comment section: a distinct exit code so scripts can tell."""

    exit_code = 3


class ModelError(ModerationError):
    """A model file is missing, corrupt, or was saved by an incompatible version."""


class DataError(ModerationError):
    """Labeled training or evaluation data is malformed (unknown label, missing column)."""


class TooLittleTextError(DataError, ValueError):
    """Training text too scarce for a feature's settings (no n-gram in ``min_df`` texts).

    A ValueError too, as scikit-learn's ``fit`` raises for unusable data, and a DataError, so that the
    commands report it in one line."""
