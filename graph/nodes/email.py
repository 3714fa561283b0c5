"""Shared nodes for workflows that draft, revise and send one email."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from adapters.errors import EffectDeferred, EffectFailed, EffectInDoubt
from adapters.mime import EmailMessage
from graph.deps import WorkflowDeps
from graph.gate import GateRequest, Node
from graph.retry import in_doubt_detail, not_sent_yet
from graph.state import EmailWorkflowState
from memory import events, records, runs


def draft_email(
    *,
    deps: WorkflowDeps,
    workflow: str,
    version: str,
    purpose: str,
    recipient: Callable[[EmailWorkflowState], str],
) -> Node:
    """Build a node that drafts the email for ``purpose`` from the run's inputs."""

    async def draft(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
        """Draft the email (template or LLM) and log that a draft exists."""
        run_id = config["configurable"]["thread_id"]
        text = await deps.drafter.draft_email(purpose=purpose, facts=state["inputs"])
        async with deps.sessions.begin() as session:
            await events.append(
                session,
                actor=f"workflow:{workflow}",
                kind="draft.created",
                summary=f"Drafted \u201c{text.subject}\u201d with {deps.drafter.name}",
                run_id=run_id,
                workflow=workflow,
                workflow_version=version,
                data={"drafter": deps.drafter.name},
            )
        return {
            "draft": {"to": recipient(state), "subject": text.subject, "body": text.body},
            "revision": 0,
        }

    return draft


def describe_email(title: str) -> Callable[[EmailWorkflowState], GateRequest]:
    """Return the gate's describe function for an email about to leave the building."""

    def describe(state: EmailWorkflowState) -> GateRequest:
        draft = state["draft"]
        return GateRequest(
            title=title,
            summary=f"Send \u201c{draft['subject']}\u201d to {draft['to']}.",
            preview={"kind": "email", **draft},
        )

    return describe


def after_gate(state: EmailWorkflowState) -> Literal["send", "revise", "rejected"]:
    """Route on the operator's decision."""
    action = state["decision"]["action"]
    if action == "approve":
        return "send"
    if action == "edit":
        return "revise"
    return "rejected"


async def revise(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
    """Apply the operator's edits to the draft; the gate then asks again."""
    changes = state["decision"].get("changes", {})
    return {"draft": {**state["draft"], **changes}, "revision": state.get("revision", 0) + 1}


async def rejected(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
    """End a run whose request was rejected, keeping the reason; nothing is sent."""
    reason = state["decision"].get("reason") or "no reason given"
    return {"outcome": "rejected", "detail": f"Not sent: {reason}"}


def send_email(*, deps: WorkflowDeps, workflow: str, version: str, step: str) -> Node:
    """Build the node that sends the approved draft exactly once and records it."""

    async def send(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
        """Send through the effects ledger; an uncertain earlier attempt is not repeated."""
        run_id = config["configurable"]["thread_id"]
        draft = state["draft"]
        # The key names the approved draft, so a replay, retry or restart maps to the
        # same ledger row and can never send a second copy.
        key = f"{run_id}:{step}:{state['decision']['approval_id']}"
        message = EmailMessage(to=draft["to"], subject=draft["subject"], body=draft["body"])
        try:
            result = await deps.email.send(
                message, key=key, run_id=run_id, actor=f"workflow:{workflow}"
            )
        except EffectInDoubt:
            return {"outcome": "in_doubt", "detail": in_doubt_detail(draft["to"], run_id)}
        except EffectDeferred as exc:
            # The run waits (await_send) while the scheduler retries through the ledger;
            # the card shows why and when, from the run's row.
            detail = not_sent_yet(exc.short, exc.next_try_at, deps.zone)
            async with deps.sessions.begin() as session:
                await runs.set_status(
                    session,
                    run_id=run_id,
                    status="waiting",
                    outcome="retrying",
                    detail=detail,
                    only_if=runs.ACTIVE,
                )
            return {"outcome": "retrying", "detail": detail}
        except EffectFailed as exc:
            return {"outcome": "failed", "detail": f"Not sent: {exc.reason}"}
        async with deps.sessions.begin() as session:
            await records.record_outbound(
                session,
                contact_id=state.get("contact_id"),
                run_id=run_id,
                effect_key=key,
                channel="email",
                recipient=draft["to"],
                subject=draft["subject"],
                message_id=result.message_id,
            )
        return {
            "outcome": "sent",
            "message_id": result.message_id,
            "detail": f"Sent to {draft['to']} ({result.detail})",
        }

    return send


def after_send(state: EmailWorkflowState) -> Literal["await_send", "done"]:
    """Wait for the retry when the mail server could not take the email yet."""
    return "await_send" if state.get("outcome") == "retrying" else "done"


async def await_send(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
    """Wait until graph.retry has sent the email; then ``send`` runs again and finds it sent."""
    interrupt({"retry": "send"})
    return {}
