"""Client onboarding: save the contact, draft a welcome email, ask, send.

upsert_contact -> draft -> approve (gate) -> send | revise -> approve | rejected
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from graph.deps import WorkflowDeps
from graph.gate import GateConfig, approval_gate
from graph.nodes.email import after_gate, describe_email, draft_email, rejected, revise, send_email
from graph.spec import Field, WorkflowSpec, email_address, one_line, text_block
from graph.state import EmailWorkflowState
from memory import events, records

NAME = "onboarding"
VERSION = "1"


def _upsert_contact(deps: WorkflowDeps) -> Any:
    async def upsert_contact(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
        """Create or update the client's contact record, citing this run as the source."""
        run_id = config["configurable"]["thread_id"]
        inputs = state["inputs"]
        async with deps.sessions.begin() as session:
            contact, created = await records.upsert_contact(
                session,
                email=inputs["email"],
                name=inputs["name"],
                company=inputs.get("company"),
                need=inputs.get("need"),
                source=f"run:{run_id}",
            )
            verb = "created" if created else "updated"
            await events.append(
                session,
                actor=f"workflow:{NAME}",
                kind=f"contact.{verb}",
                summary=f"Contact {contact.email} {verb}",
                run_id=run_id,
                workflow=NAME,
                workflow_version=VERSION,
                data={"contact_id": contact.id},
            )
            return {"contact_id": contact.id}

    return upsert_contact


def build_onboarding(*, deps: WorkflowDeps) -> StateGraph[Any]:
    """Build (not compile) the onboarding graph."""
    step = "send_welcome"
    graph: StateGraph[Any] = StateGraph(EmailWorkflowState)
    graph.add_node("upsert_contact", _upsert_contact(deps))
    graph.add_node(
        "draft",
        draft_email(
            deps=deps,
            workflow=NAME,
            version=VERSION,
            purpose="welcome",
            recipient=lambda s: s["inputs"]["email"],
        ),
    )
    graph.add_node(
        "approve",
        approval_gate(
            deps=deps,
            gate=GateConfig(
                workflow=NAME,
                version=VERSION,
                step=step,
                risk="high",
                remind_after=timedelta(days=1),
                expires_after=timedelta(days=7),
            ),
            describe=describe_email("Send welcome email"),
        ),
    )
    graph.add_node("revise", revise)
    graph.add_node("send", send_email(deps=deps, workflow=NAME, version=VERSION, step=step))
    graph.add_node("rejected", rejected(deps=deps, workflow=NAME, version=VERSION))
    graph.add_edge(START, "upsert_contact")
    graph.add_edge("upsert_contact", "draft")
    graph.add_edge("draft", "approve")
    graph.add_conditional_edges("approve", after_gate)
    graph.add_edge("revise", "approve")
    graph.add_edge("send", END)
    graph.add_edge("rejected", END)
    return graph


EMAIL_FIELDS = (
    Field("to", "recipient address", email_address),
    Field("subject", "one line, up to 200 characters", one_line(200)),
    Field("body", "the email text, up to 20,000 characters", text_block(20_000)),
)

SPEC = WorkflowSpec(
    name=NAME,
    version=VERSION,
    description="Welcome a new client: save the contact, draft a welcome email, ask you, send it.",
    inputs=(
        Field("name", "the client's full name", one_line(200)),
        Field("email", "the client's email address", email_address),
        Field("company", "their company", one_line(200), required=False),
        Field("need", "what they need, in a few words", text_block(2_000), required=False),
    ),
    editable=EMAIL_FIELDS,
    build=build_onboarding,
    aliases=("onboard",),
)
