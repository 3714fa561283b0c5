"""Typed state shared by Deskhand's workflows."""

from __future__ import annotations

from typing import Any, TypedDict


class Draft(TypedDict):
    """An email as it will be sent."""

    to: str
    subject: str
    body: str


class Decision(TypedDict, total=False):
    """What the operator decided at a gate (the value ``interrupt()`` returns)."""

    action: str
    approval_id: str
    reason: str
    changes: dict[str, str]
    by: str
    by_name: str


class EmailWorkflowState(TypedDict, total=False):
    """State of a workflow that drafts one email, asks, then sends it."""

    inputs: dict[str, str]
    contact_id: int
    draft: Draft
    revision: int
    pending_approval: str
    decision: Decision
    outcome: str
    detail: str
    message_id: str
    extra: dict[str, Any]
