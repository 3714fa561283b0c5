"""Check-in: a short follow-up email to a client, asked for at medium risk."""

from __future__ import annotations

from typing import Any

from langgraph.graph import StateGraph

from graph.deps import WorkflowDeps
from graph.spec import Field, WorkflowSpec, email_address, one_line
from graph.workflows.email_flow import EmailFlow, build_email_flow
from graph.workflows.onboarding import EMAIL_FIELDS

NAME = "checkin"
VERSION = "1"


def build_checkin(*, deps: WorkflowDeps) -> StateGraph[Any]:
    """Build (not compile) the check-in graph."""
    flow = EmailFlow(
        name=NAME,
        version=VERSION,
        purpose="checkin",
        step="send_checkin",
        title="Send check-in email",
        risk="medium",
    )
    return build_email_flow(flow, deps=deps)


SPEC = WorkflowSpec(
    name=NAME,
    version=VERSION,
    description="Check in with a client by email (asks you first, medium risk).",
    inputs=(
        Field("name", "the client's full name", one_line(200)),
        Field("email", "the client's email address", email_address),
    ),
    editable=EMAIL_FIELDS,
    build=build_checkin,
    aliases=("followup", "check-in"),
)
