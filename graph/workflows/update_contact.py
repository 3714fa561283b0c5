"""Update a contact's record: internal and reversible, so asked for at low risk.

approve (gate) -> apply | revise -> approve | rejected
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from graph.deps import WorkflowDeps
from graph.gate import GateConfig, GateRequest, add_gate
from graph.nodes.email import rejected
from graph.spec import Field, WorkflowSpec, email_address, one_line, text_block
from graph.state import EmailWorkflowState
from memory import events, records

NAME = "update_contact"
VERSION = "1"
CHANGEABLE = ("name", "company", "need")


def _changes(state: EmailWorkflowState) -> dict[str, str]:
    return {k: v for k, v in state["inputs"].items() if k in CHANGEABLE}


def _describe(state: EmailWorkflowState) -> GateRequest:
    email = state["inputs"]["email"]
    changes = _changes(state)
    listed = ", ".join(f"{k} \u2192 {v}" for k, v in changes.items()) or "nothing"
    return GateRequest(
        title="Update contact",
        summary=f"Change {email}: {listed}.",
        preview={"kind": "record", "contact": email, **changes},
    )


def _route(state: EmailWorkflowState) -> Literal["apply", "revise", "rejected"]:
    action = state["decision"]["action"]
    return {"approve": "apply", "edit": "revise"}.get(action, "rejected")  # type: ignore[return-value]


async def _revise(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
    """Apply the operator's edits to the proposed changes; the gate asks again."""
    changes = state["decision"].get("changes", {})
    return {"inputs": {**state["inputs"], **changes}, "revision": state.get("revision", 0) + 1}


def _apply(deps: WorkflowDeps) -> Any:
    async def apply(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
        """Write the approved changes to the contact, citing this run as the source."""
        run_id = config["configurable"]["thread_id"]
        email, changes = state["inputs"]["email"], _changes(state)
        async with deps.sessions.begin() as session:
            contact = await records.get_contact(session, email=email)
            if contact is None:
                return {"outcome": "failed", "detail": f"There is no contact {email}."}
            await records.upsert_contact(
                session,
                email=email,
                name=changes.get("name", contact.name),
                company=changes.get("company"),
                need=changes.get("need"),
                source=f"run:{run_id}",
            )
            await events.append(
                session,
                actor=f"workflow:{NAME}",
                kind="contact.updated",
                summary=f"Contact {email} updated",
                run_id=run_id,
                workflow=NAME,
                workflow_version=VERSION,
                data={"changes": changes},
            )
        return {"outcome": "done", "detail": f"Updated {email}"}

    return apply


def build_update_contact(*, deps: WorkflowDeps) -> StateGraph[Any]:
    """Build (not compile) the update-contact graph."""
    graph: StateGraph[Any] = StateGraph(EmailWorkflowState)
    ask = add_gate(
        graph,
        deps=deps,
        gate=GateConfig(workflow=NAME, version=VERSION, step="update_contact", risk="low"),
        describe=_describe,
    )
    graph.add_node("revise", _revise)
    graph.add_node("apply", _apply(deps))
    graph.add_node("rejected", rejected)
    graph.add_edge(START, ask)
    graph.add_conditional_edges("approve", _route)
    graph.add_edge("revise", ask)
    graph.add_edge("apply", END)
    graph.add_edge("rejected", END)
    return graph


SPEC = WorkflowSpec(
    name=NAME,
    version=VERSION,
    description="Change a contact's name, company or need (asks you first, low risk).",
    inputs=(
        Field("email", "the contact's email address", email_address),
        Field("name", "new full name", one_line(200), required=False),
        Field("company", "new company", one_line(200), required=False),
        Field("need", "what they need now", text_block(2_000), required=False),
    ),
    editable=(
        Field("name", "full name", one_line(200), required=False),
        Field("company", "company", one_line(200), required=False),
        Field("need", "what they need", text_block(2_000), required=False),
    ),
    build=build_update_contact,
    aliases=("update",),
)
