"""Errors whose message is meant for the person at the terminal.

Every error rmeval raises on bad input derives from :class:`RmevalError`; the CLI prints
its message (no traceback) and exits with status 2. Messages name what is wrong and how
to fix it.
"""

from __future__ import annotations


class RmevalError(Exception):
    """Base class: an error with a message written for the user.

    ``exit_status`` is what the command line exits with: 2 (bad input, as every
    command's help says) unless a subclass says otherwise.
    """

    exit_status: int = 2


class StorageError(RmevalError):
    """A file or folder could not be written (disk full, read-only, something in the way).

    Exit status 1 when the disk is full (nothing wrong with the input), 2 otherwise
    (the location given cannot be used).
    """

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.exit_status = 1 if disk_full else 2


class CacheError(RmevalError):
    """An embedding-cache directory or file that is damaged or unusable."""


class InvalidInputError(RmevalError, ValueError):
    """An argument or array has a value rmeval cannot use (shape, range, syntax)."""


class ModelNotFoundError(RmevalError, KeyError):
    """A model name that is neither in rmeval's registry nor an open_clip architecture."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WeightsUnavailableError(RmevalError):
    """Weights for a model could not be found or loaded (no network, bad tag, bad path)."""


class DatasetError(RmevalError):
    """A dataset directory that is missing, malformed or inconsistent.

    ``problems`` lists every problem found, each naming the file or row.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            shown = self.problems[:20]
            more = len(self.problems) - len(shown)
            lines = [message] + [f"  - {p}" for p in shown]
            if more > 0:
                lines.append(f"  ... and {more} more")
            message = "\n".join(lines)
        super().__init__(message)
