"""Deciding an approval: one atomic decision, then exactly one resume.

The decision is committed *before* the graph is resumed, with the run's lock already
held: whoever wins resumes without letting go, so no recovery (here or on another
replica) can apply the decision in between, and however many taps race, the graph
resumes once. A loser is told who decided and when.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from graph.advance import Advancer
from graph.errors import AlreadyDecided, InvalidInput, NotFound
from graph.reports import DecideReport, RunReport, describe_decision
from graph.spec import WorkflowSpec
from memory import approvals, decisions
from memory.approvals import Action
from memory.db import is_transient, retrying
from memory.models import Approval

# While the database does not answer (a restart takes seconds), a tap or a /run retries
# this long before the operator is told.
ANSWER_RETRY_S = 15.0

ResumeLater = Callable[..., "asyncio.Task[RunReport]"]


async def decide(
    advancer: Advancer,
    *,
    specs: Mapping[str, WorkflowSpec],
    resume_later: ResumeLater,
    approval_id: str,
    action: Action,
    actor: str,
    actor_name: str | None,
    reason: str | None,
    changes: Mapping[str, str] | None,
    wait: bool,
) -> DecideReport:
    """Decide an approval atomically, then resume its run (now, or in the background).

    Args:
        advancer: resumes the run.
        specs: the workflows, whose edits are validated here.
        resume_later: ``resume_later(approval, verify=...)`` applies a committed decision
            in the background and returns the task.
        approval_id: the approval.
        action: approve, reject or edit.
        actor: who decides.
        actor_name: their display name.
        reason: a reason (for a rejection).
        changes: edited fields (for an edit).
        wait: resume before returning (False: return once the decision committed).

    Returns:
        The decided approval and where its run stands (or will, via ``settled``).

    Raises:
        NotFound: no such approval.
        AlreadyDecided: someone decided first (the message says who and when).
        InvalidInput: the action is not offered, or edited fields do not validate.
    """
    sessions = advancer.sessions

    async def read() -> Approval | None:
        async with sessions() as session:
            return await approvals.get(session, approval_id=approval_id)

    asked = await retrying(read, within=ANSWER_RETRY_S, what="decide")
    if asked is None:
        raise NotFound(f"There is no approval {approval_id}. /pending lists open ones.")
    details = _details(asked, action, specs=specs, reason=reason, changes=changes)
    async with advancer.locks.hold(asked.run_id):
        outcome = await retrying(
            lambda: decisions.decide(
                sessions,
                approval_id=approval_id,
                action=action,
                actor=actor,
                actor_name=actor_name,
                details=details,
                reason=reason,
                changes=changes,
            ),
            within=ANSWER_RETRY_S,
            what="decide",
        )
        if outcome is None:
            raise NotFound(f"There is no approval {approval_id}. /pending lists open ones.")
        approval = outcome.approval
        if not outcome.won:
            if approval.applied_at is None and approval.status != approvals.OPEN:
                # Decided but not applied: this very tap may have committed before its
                # connection was cut, or the winner's resume failed. Applying it is
                # idempotent under the run's lock, so nudge it now, not at the tick.
                resume_later(approval, verify=True)
            why = f"already {describe_decision(approval)}"
            await decisions.refused(sessions, actor=actor, approval=approval, why=why)
            raise AlreadyDecided(
                f"Approval {approval_id} was already {describe_decision(approval)}.",
                approval=approval,
            )
        if wait:
            try:
                report = await advancer.apply_held(approval, outcome.run, verify=False)
                return DecideReport(approval=approval, report=report)
            except Exception as error:
                if not is_transient(error):
                    raise
    # The decision is committed: the run resumes in the background (and keeps trying
    # while the database is away); a crash before that is recovered at the next start.
    settled = resume_later(approval, verify=wait)
    return DecideReport(approval=approval, report=RunReport(run=outcome.run), settled=settled)


def _details(
    approval: Approval,
    action: Action,
    *,
    specs: Mapping[str, WorkflowSpec],
    reason: str | None,
    changes: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The decision's details besides the action, once the action is known to be offered."""
    offered = approval.allowed_actions.get("actions", ())
    if action not in offered:
        raise InvalidInput(
            f"Approval {approval.id} cannot be {action}d; it offers {', '.join(offered)}."
        )
    if action == "edit":
        spec = specs.get(approval.workflow)
        if spec is None:
            raise InvalidInput(f"Workflow {approval.workflow} is not available to edit.")
        return {"changes": spec.validate_edits(changes or {})}
    if action == "reject" and reason:
        return {"reason": reason}
    return {}
