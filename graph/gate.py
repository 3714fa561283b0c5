"""The approval gate: writes an inbox row, then waits for the operator's decision.

Two nodes, because LangGraph re-runs an interrupted node from its first line on resume:
the inbox write happens in the node before the one that interrupts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph
from langgraph.types import interrupt
from sqlalchemy.ext.asyncio import AsyncSession

from graph.deps import WorkflowDeps
from graph.state import EmailWorkflowState
from memory import approvals, events
from memory.models import Approval, utcnow


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


def add_gate(
    graph: StateGraph[Any],
    *,
    deps: WorkflowDeps,
    gate: GateConfig,
    describe: Callable[[EmailWorkflowState], GateRequest],
    name: str = "approve",
) -> str:
    """Add the gate to ``graph`` as two nodes and return the one to route into.

    ``request_<name>`` writes the inbox row (once per round: looked up by run and round);
    ``<name>`` only calls ``interrupt()``. LangGraph re-runs the interrupted node from its
    first line on resume, so keeping the write out of it makes a resume touch nothing
    but the checkpoint. ``<name>`` returns ``{"decision": ...}`` for the router after it.
    """
    entry = f"request_{name}"

    async def request(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
        """Put the request in the operator's inbox (idempotent per round)."""
        run_id = config["configurable"]["thread_id"]
        gate_key = f"{gate.step}:{state.get('revision', 0)}"
        async with deps.sessions.begin() as session:
            approval = await approvals.for_gate(session, run_id=run_id, gate_key=gate_key)
            if approval is None:
                approval = await _create(session, run_id, gate_key, gate, describe(state))
        return {"pending_approval": approval.id}

    async def wait(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
        """Wait for the operator's decision on the pending request."""
        approval_id = state["pending_approval"]
        decision = interrupt({"approval_id": approval_id, "step": gate.step})
        return {"decision": {**decision, "approval_id": approval_id}}

    graph.add_node(entry, request)
    graph.add_node(name, wait)
    graph.add_edge(entry, name)
    return entry


async def _create(
    session: AsyncSession, run_id: str, gate_key: str, gate: GateConfig, request: GateRequest
) -> Approval:
    now = utcnow()
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
        expires_at=now + gate.expires_after if gate.expires_after else None,
        remind_at=now + gate.remind_after if gate.remind_after else None,
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
    return approval
