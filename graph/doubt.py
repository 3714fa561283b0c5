"""Settling effects in doubt: an email that may or may not have gone out.

The ledger never repeats such an effect by itself. The operator checks (the Sent folder,
the recipient) and says ``sent`` (record it as delivered) or ``resend`` (send it now with
the same idempotency key, which the ledger then allows). A resend that the mail server
cannot take goes on being retried (:mod:`graph.retry`), and the run stays resolvable:
``sent`` or ``resend`` still apply to it while it is not sent.
"""

from __future__ import annotations

from typing import Literal

from graph.errors import InvalidInput, NotFound
from graph.retry import RETRYABLE, Retrier
from memory import effects, runs
from memory.db import Sessions
from memory.models import Run

_VERDICTS: dict[str, Literal["succeeded", "failed"]] = {"sent": "succeeded", "resend": "failed"}


async def settle_in_doubt(
    *, sessions: Sessions, retrier: Retrier, run_id: str, verdict: str, actor: str
) -> Run:
    """Apply the operator's verdict to every unsettled email of a run (hold its lock).

    Unsettled: in doubt, or (while the run's outcome says so) still being retried or
    given up on.

    Args:
        sessions: the session factory.
        retrier: sends again on ``resend``, resumes a run waiting for its email.
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
        rows = await effects.for_run(session, run_id=run_id)
    if run is None:
        raise NotFound(f"There is no run {run_id}. /runs lists recent ones.")
    settleable = [effects.IN_DOUBT]
    if run.outcome in RETRYABLE:
        settleable += [effects.RETRYING, effects.FAILED]
    doubtful = [e for e in rows if e.status in settleable]
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
                allowed_from=settleable,
            )
            fresh = await effects.get(session, key=effect.key)
        if verdict == "resend" and fresh is not None:
            await retrier.send(fresh, actor=actor)
    if verdict == "sent":
        await retrier.went_out(run_id, "confirmed sent by the operator")
    async with sessions() as session:
        final = await runs.get(session, run_id=run_id)
    assert final is not None
    return final
