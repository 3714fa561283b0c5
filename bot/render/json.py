"""JSON rendering of core replies for ``--json`` (scripts). Pure functions."""

from __future__ import annotations

import dataclasses
from datetime import datetime, tzinfo
from typing import Any

from bot.core.messages import (
    ApprovalCard,
    ApprovalList,
    BatchView,
    DecisionNotice,
    DigestView,
    Help,
    Reply,
    Response,
    RunDetails,
    RunList,
    RunStarted,
    Text,
)


def to_data(reply: Reply) -> Any:
    """Turn one reply into JSON-ready data."""
    match reply:
        case Text(text=text, tone=tone):
            return {"message": text, "tone": tone}
        case ApprovalCard(approval=view):
            return view.as_dict()
        case DecisionNotice(approval=view, run=run):
            return {**view.as_dict(), "run": run.as_dict()}
        case RunStarted(run=run):
            return run.as_dict()
        case ApprovalList(items=items):
            return [v.as_dict() for v in items]
        case RunList(items=items):
            return [r.as_dict() for r in items]
        case RunDetails(run=run, approvals=approvals, events=events, sent=sent):
            return {
                **run.as_dict(),
                "approvals": [a.as_dict() for a in approvals],
                "events": [
                    {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "summary": e.summary}
                    for e in events
                ],
                "sent": list(sent),
            }
        case DigestView() | BatchView():
            return _plain(dataclasses.asdict(reply))
        case Help(commands=commands, workflows=workflows):
            return {"commands": [c for c, _ in commands], "workflows": [w for w, _, _ in workflows]}
    raise TypeError(f"no JSON rendering for {type(reply).__name__}")


def response_data(response: Response) -> Any:
    """The JSON document for a command: its main object, plus ``error`` when refused.

    ``start`` gives the run (with ``approval`` when it waits), lists give arrays, and a
    refusal gives ``{"error": message, "ref": ...}``.
    """
    if response.refused:
        message = next((r.text for r in response.replies if isinstance(r, Text)), "refused")
        return {"error": message, "ref": response.error_ref, "status": "refused"}
    first, *rest = response.replies
    data = to_data(first)
    if isinstance(first, (RunStarted, DecisionNotice)):
        cards = [to_data(r) for r in rest if isinstance(r, ApprovalCard)]
        data["approval"] = cards[0] if cards else None
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tzinfo):
        return str(value)  # "Europe/Berlin"
    return value
