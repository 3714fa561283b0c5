"""The approval gate: a reusable node that writes an inbox row and waits for a decision.

LangGraph re-runs an interrupted node from its first line on resume, so everything
before ``interrupt()`` must be idempotent: the inbox row is looked up by (run, gate
round) and created only once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from graph.deps import WorkflowDeps
from graph.state import EmailWorkflowState
from memory import approvals, events
from memory.models import utcnow


@dataclass(frozen=True)
class GateRequest:
    """What the operator is asked: shown on the approval card."""

    title: str
    summary: str
    preview: dict[str, Any]


@dataclass(frozen=True)
class GateConfig:
    """How a gate behaves: which step, how risky, what may be done, when it expires."""

    workflow: str
    version: str
    step: str
    risk: str
    actions: Sequence[str] = ("approve", "reject", "edit")
    expires_after: timedelta | None = None
    remind_after: timedelta | None = None
    on_expiry: str = "reject"


class Node(Protocol):
    """A graph node: LangGraph passes the config by keyword name, so the names matter."""

    def __call__(
        self, state: EmailWorkflowState, config: RunnableConfig
    ) -> Awaitable[dict[str, Any]]: ...


def approval_gate(
    *,
    deps: WorkflowDeps,
    gate: GateConfig,
    describe: Callable[[EmailWorkflowState], GateRequest],
) -> Node:
    """Build a gate node that asks ``describe(state)`` and returns ``{"decision": ...}``."""

    async def node(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
        """Ask the operator (once per round) and wait for the decision."""
        run_id = config["configurable"]["thread_id"]
        gate_key = f"{gate.step}:{state.get('revision', 0)}"
        request = describe(state)
        async with deps.sessions.begin() as session:
            approval = await approvals.for_gate(session, run_id=run_id, gate_key=gate_key)
            if approval is None:
                now = utcnow()
                expires = now + gate.expires_after if gate.expires_after else None
                remind = now + gate.remind_after if gate.remind_after else None
                approval = await approvals.create(
                    session,
                    run_id=run_id,
                    gate_key=gate_key,
                    workflow=gate.workflow,
                    step=gate.step,
                    title=request.title,
                    summary=request.summary,
                    preview=request.preview,
                    risk=gate.risk,
                    allowed_actions=gate.actions,
                    expires_at=expires,
                    remind_at=remind,
                    on_expiry=gate.on_expiry,
                )
                await events.append(
                    session,
                    actor=f"workflow:{gate.workflow}",
                    kind="approval.requested",
                    summary=f"Approval {approval.id} requested: {request.title}",
                    run_id=run_id,
                    approval_id=approval.id,
                    workflow=gate.workflow,
                    workflow_version=gate.version,
                    data={"risk": gate.risk, "step": gate.step},
                )
            approval_id = approval.id
        decision = interrupt({"approval_id": approval_id, "step": gate.step})
        return {"decision": {**decision, "approval_id": approval_id}}

    return node
