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
    except Exception:
        ref = secrets.token_hex(4)
        log.exception("command failed", extra={"ref": ref, "actor": actor})
        return Response(
            (
                Text(
                    f"Something went wrong on my side (ref {ref}). Nothing you sent was "
                    "lost; the details are in the log.",
                    "error",
                ),
            ),
            refused=True,
            error_ref=ref,
        )
