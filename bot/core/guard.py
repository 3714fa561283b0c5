"""Turn what a command raised into the answer a person sees: one place for every entry point.

:class:`~bot.core.commands.Core` and the read-only :class:`~bot.core.reads.Reads` both
answer through :func:`answered`, so a refusal or a bug reads the same whichever opened
the database.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable

from bot.core.messages import ApprovalCard, ApprovalView, Response, Text
from graph.errors import AlreadyDecided, DeskhandError
from memory.db import is_transient

log = logging.getLogger(__name__)


async def answered(work: Awaitable[Response], *, actor: str) -> Response:
    """Await a command's response; never raises.

    Args:
        work: the command being answered.
        actor: who asked, for the log.

    Returns:
        The response; refused with a chat-safe message when ``work`` raised, and with a
        reference id to find in the log when that was a bug.
    """
    try:
        return await work
    except AlreadyDecided as exc:
        return Response(
            (Text(str(exc), "warn"), ApprovalCard(ApprovalView.of(exc.approval))), refused=True
        )
    except DeskhandError as exc:
        return Response((Text(str(exc), "warn"),), refused=True)
    except Exception as exc:
        ref = secrets.token_hex(4)
        log.exception("command failed", extra={"ref": ref, "actor": actor})
        text = (
            f"I can't reach the database right now (ref {ref}). Try again in a minute; "
            "/pending and /runs show what was recorded."
            if is_transient(exc)
            else f"Something went wrong on my side (ref {ref}). Nothing you sent was "
            "lost; the details are in the log."
        )
        return Response((Text(text, "error"),), refused=True, error_ref=ref)
