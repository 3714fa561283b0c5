"""Client onboarding: save the contact, draft a welcome email, ask, send, plan a check-in.

upsert_contact -> draft -> approve (gate) -> send -> schedule_checkin
                                           | revise -> approve | rejected
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph

from graph.deps import WorkflowDeps
from graph.spec import Field, WorkflowSpec, email_address, one_line, text_block
from graph.state import EmailWorkflowState
from graph.workflows.email_flow import EmailFlow, build_email_flow
from memory import events, records, schedules
from memory.models import utcnow

NAME = "onboarding"
VERSION = "2"
CHECKIN_AFTER = timedelta(days=3)


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


def _schedule_checkin(deps: WorkflowDeps) -> Any:
    async def schedule_checkin(state: EmailWorkflowState, config: RunnableConfig) -> dict[str, Any]:
        """After the welcome went out, plan a check-in email in three days (once per run)."""
        if state.get("outcome") != "sent":
            return {}
        run_id = config["configurable"]["thread_id"]
        # Derived from the run, so a re-run of this node finds the schedule it made.
        schedule_id = "F" + run_id[1:].upper()
        inputs = state["inputs"]
        async with deps.sessions.begin() as session:
            if await schedules.get(session, schedule_id=schedule_id) is None:
                await schedules.create(
                    session,
                    schedule_id=schedule_id,
                    workflow="checkin",
                    run_at=utcnow() + CHECKIN_AFTER,
                    description="3 days after welcome",
                    inputs={"name": inputs["name"], "email": inputs["email"]},
                    created_by=f"run:{run_id}",
                )
                await events.append(
                    session,
                    actor=f"workflow:{NAME}",
                    kind="schedule.created",
                    summary=f"Check-in with {inputs['email']} planned in 3 days",
                    run_id=run_id,
                    workflow=NAME,
                    workflow_version=VERSION,
                    data={"schedule_id": schedule_id},
                )
        return {}

    return schedule_checkin


def build_onboarding(*, deps: WorkflowDeps) -> StateGraph[Any]:
    """Build (not compile) the onboarding graph."""
    flow = EmailFlow(
        name=NAME,
        version=VERSION,
        purpose="welcome",
        step="send_welcome",
        title="Send welcome email",
        risk="high",
        prelude=(("upsert_contact", _upsert_contact(deps)),),
        after_send=("schedule_checkin", _schedule_checkin(deps)),
    )
    return build_email_flow(flow, deps=deps)


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
