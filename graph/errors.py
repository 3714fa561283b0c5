"""Errors the core raises for things a person asked that cannot be done.

Every one carries a message that is safe to show in chat and says what to do next::

    DeskhandError
    ├── NotFound             unknown run, approval or workflow
    ├── InvalidInput         malformed arguments, oversized text, a bad field value
    ├── AlreadyDecided       someone decided that approval first (carries who and when)
    └── RunNotActive         the run has finished or was cancelled

Anything else that escapes is a bug: front-ends log it with the traceback and show the
operator a short message with a reference id.
"""

from __future__ import annotations

from typing import Any


class DeskhandError(Exception):
    """Base class: ``str(error)`` is a message fit for chat."""


class NotFound(DeskhandError):
    """An id or name that does not exist."""


class InvalidInput(DeskhandError):
    """Arguments that cannot be accepted as given."""


class RunNotActive(DeskhandError):
    """The run is finished or cancelled, so it cannot be changed."""


class AlreadyDecided(DeskhandError):
    """Someone decided the approval first; ``approval`` is the row as decided."""

    def __init__(self, message: str, *, approval: Any) -> None:
        super().__init__(message)
        self.approval = approval
