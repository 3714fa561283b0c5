"""Settling effects in doubt: an email that may or may not have gone out.

The ledger never repeats such an effect by itself. The operator checks (the Sent folder,
the recipient) and says ``sent`` (record it as delivered) or ``resend`` (send it now with
the same idempotency key, which the ledger then allows).
"""

from __future__ import annotations

from typing import Literal

from adapters.email import EmailMessage, EmailSender
from graph.errors import InvalidInput, NotFound
from memory import effects, runs
from memory.db import Sessions
from memory.models import Run

_VERDICTS: dict[str, Literal["succeeded", "failed"]] = {"sent": "succeeded", "resend": "failed"}


async def settle_in_doubt(
    *, sessions: Sessions, email: EmailSender, run_id: str, verdict: str, actor: str
) -> Run:
    """Apply the operator's verdict to every in-doubt effect of a run (hold its lock).

    Args:
        sessions: the session factory.
        email: the sender used to send again on ``resend``.
        run_id: the run whose effects are in doubt.
        verdict: ``sent`` or ``resend``.
        actor: who decided, for the audit log.

    Returns:
        The run as it stands afterwards.

    Raises:
        InvalidInput: an unknown verdict.
        NotFound: no such run, or nothing of it in doubt.
    """
    outcome = _VERDICTS.get(verdict)
    if outcome is None:
        raise InvalidInput("Say sent (it did go out) or resend (send it now).")
    async with sessions() as session:
        run = await runs.get(session, run_id=run_id)
        doubtful = [e for e in await effects.in_doubt(session, limit=1000) if e.run_id == run_id]
    if run is None:
        raise NotFound(f"There is no run {run_id}. /runs lists recent ones.")
    if not doubtful:
        raise NotFound(f"Run {run_id} has nothing in doubt.")
    for effect in doubtful:
        async with sessions.begin() as session:
            await effects.resolve(
                session,
                key=effect.key,
                outcome=outcome,
                actor=actor,
                note=f"operator says {verdict}",
            )
        if verdict == "resend":
            request = effect.request
            message = EmailMessage(
                to=request["to"],
                subject=request["subject"],
                body=request["body"],
                reply_to=request.get("reply_to"),
            )
            await email.send(message, key=effect.key, run_id=run_id, actor=actor)
    detail = (
        "confirmed sent by the operator"
        if verdict == "sent"
        else "sent again at the operator's request"
    )
    async with sessions.begin() as session:
        await runs.set_status(
            session, run_id=run_id, status=run.status, outcome="sent", detail=detail
        )
        fresh = await runs.get(session, run_id=run_id)
    assert fresh is not None
    return fresh
