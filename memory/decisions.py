"""The decision lifecycle: decide, wait, apply, finish, and what a card shows.

Each function is one transaction over the table repositories (``approvals`` writes
approvals, ``runs`` runs, ``events`` events, ``deliveries`` approval messages), so every
step of a decision and its event commit together or not at all, and each is safe to
repeat: ``graph`` retries them through :func:`memory.db.retrying` while the database is
away. ``graph`` calls these; front-ends reach them only through the run manager.

- :func:`decide`: the atomic ``UPDATE approvals ... WHERE status = 'pending' RETURNING``
  and its ``approval.decided`` event; the first decision wins and a loser learns who
  decided and when.
- :func:`waiting`: a run reached a gate; its approval learns the interrupt it answers.
- :func:`finish`: the decision is applied and the run ends, with its ``run.<status>``
  event.
- :func:`mark_shown`: a chat card now shows a given state (``deliveries.shown_state``).

Through the ORM session, like the rest of ``memory/``, with Core statements built once
(see :mod:`memory.approvals`). Measured with ``python -m bench.approvals`` (bench/README.md):
a decision is two statements (the deciding ``UPDATE``, which also returns the run, and its
event) and its finish three; running the same statements on a bare ``AsyncConnection``
instead of a session saved about 0.2 ms of about 6 ms, too little for a second style.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memory import approvals, deliveries, events, runs
from memory.approvals import DECIDED_STATUS, Action
from memory.db import Sessions
from memory.models import Approval, Run


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`decide`: ``won`` is False when someone decided first."""

    won: bool
    approval: Approval
    run: Run


async def decide(
    sessions: Sessions,
    *,
    approval_id: str,
    action: Action,
    actor: str,
    actor_name: str | None,
    details: Mapping[str, Any],
    reason: str | None = None,
    changes: Mapping[str, str] | None = None,
) -> Decision | None:
    """Decide a pending approval and log it, atomically; the first decision wins.

    Args:
        sessions: the session factory; this is one transaction.
        approval_id: the approval.
        action: approve, reject or edit (the caller checked it is offered).
        actor: who decides, e.g. ``telegram:123``.
        actor_name: their display name ("Approved by Ana").
        details: the decision's details besides the action (a reason, validated edits).
        reason: the reason given, for the event log.
        changes: the edits as typed, for the event log.

    Returns:
        The decision with the approval and its run (``won`` False, with the row as it
        stands, when someone decided first), or None when there is no such approval.
    """
    async with sessions.begin() as session:
        outcome = await approvals.decide(
            session,
            approval_id=approval_id,
            action=action,
            actor=actor,
            actor_name=actor_name,
            payload=dict(details),
        )
        if outcome is None:
            return None
        approval = outcome.approval
        if outcome.won:
            await events.append(
                session,
                actor=actor,
                kind="approval.decided",
                summary=(
                    f"Approval {approval_id} {DECIDED_STATUS[action]} by {actor_name or actor}"
                ),
                run_id=approval.run_id,
                approval_id=approval_id,
                workflow=approval.workflow,
                reason=reason,
                data={"action": action, **({"changes": dict(changes)} if changes else {})},
            )
        return Decision(outcome.won, approval, outcome.run)


async def refused(sessions: Sessions, *, actor: str, approval: Approval | None, why: str) -> None:
    """Log a refused attempt to decide (already decided, not allowed, unknown).

    Args:
        sessions: the session factory; this is one transaction.
        actor: who tried.
        approval: the approval, when there is one.
        why: the reason it was refused.
    """
    async with sessions.begin() as session:
        await events.append(
            session,
            actor=actor,
            kind="approval.refused",
            summary=f"Refused {actor} on approval {approval.id if approval else '?'}: {why}",
            run_id=approval.run_id if approval else None,
            approval_id=approval.id if approval else None,
            reason=why,
        )


async def with_run(sessions: Sessions, *, approval_id: str) -> tuple[Approval, Run] | None:
    """Return an approval and its run, fresh from the database, or None."""
    async with sessions() as session:
        approval = await approvals.get(session, approval_id=approval_id)
        if approval is None:
            return None
        run = await runs.get(session, run_id=approval.run_id)
        assert run is not None
        return approval, run


async def waiting(
    sessions: Sessions,
    *,
    run_id: str,
    approval_id: str | None,
    interrupt_id: str,
    applied: str | None,
) -> tuple[Run, Approval | None]:
    """Record that a run waits at an interrupt, having applied the decision ``applied``.

    Args:
        sessions: the session factory; this is one transaction.
        run_id: the run.
        approval_id: the approval the interrupt asks for (None for a non-approval wait,
            such as a send retry).
        interrupt_id: LangGraph's id of the interrupt, which the decision will answer.
        applied: the approval whose decision the run just applied, if any.

    Returns:
        The run and the approval it now waits on, as they stand.
    """
    async with sessions.begin() as session:
        if applied is not None:
            await approvals.mark_applied(session, approval_id=applied)
        approval = None
        if approval_id is not None:
            await approvals.set_interrupt(
                session, approval_id=approval_id, interrupt_id=interrupt_id
            )
            approval = await approvals.get(session, approval_id=approval_id)
        await runs.set_status(session, run_id=run_id, status="waiting", only_if=runs.ACTIVE)
        run = await runs.get(session, run_id=run_id)
    assert run is not None
    return run, approval


async def finish(
    sessions: Sessions,
    *,
    run: Run,
    status: str,
    outcome: str,
    detail: str | None,
    applied: str | None,
) -> tuple[Run, bool]:
    """Mark ``applied`` applied and move an active run to ``status``, with its event.

    Args:
        sessions: the session factory; this is one transaction.
        run: the run (its id, workflow and version name the event).
        status: the final status (``completed``, ``rejected``, ``failed``).
        outcome: a short outcome code (``sent``, ``rejected``, ``error``...).
        detail: a human line about the outcome.
        applied: the approval whose decision the run just applied, if any.

    Returns:
        The run as it stands, and True when this call moved it (then the event is
        written too).
    """
    async with sessions.begin() as session:
        if applied is not None:
            await approvals.mark_applied(session, approval_id=applied)
        fresh, moved = await runs.finish(
            session, run_id=run.id, status=status, outcome=outcome, detail=detail
        )
        if moved:
            await events.append(
                session,
                actor=f"workflow:{run.workflow}",
                kind=f"run.{status}",
                summary=f"Run {run.id} {status}: {detail or outcome}",
                run_id=run.id,
                workflow=run.workflow,
                workflow_version=run.workflow_version,
                data={"outcome": outcome},
            )
    return fresh, moved


async def mark_shown(
    sessions: Sessions,
    *,
    approval_id: str,
    channel: str,
    chat_id: str,
    message_id: str,
    status: str,
) -> bool:
    """Record that a card of ``approval_id`` now shows ``status``; True when it changed.

    Args:
        sessions: the session factory; this is one transaction.
        approval_id: the approval the card shows.
        channel: ``telegram``, ``slack``...
        chat_id: the chat or channel id.
        message_id: the message id (Telegram) or ts (Slack).
        status: what the card shows (``deliveries.shown_state``).

    Returns:
        True when this call changed (or first recorded) what the card shows.
    """
    async with sessions.begin() as session:
        return await deliveries.mark_shown(
            session,
            approval_id=approval_id,
            channel=channel,
            chat_id=chat_id,
            message_id=message_id,
            status=status,
        )
