"""The shape every "draft an email, ask, send it" workflow shares, built from parameters.

[prelude...] -> draft -> request_approve -> approve -> send -> [after_send]
                                            -> revise -> request_approve
                                            -> rejected
                                 await_send <-> send   (the mail server could not take it yet)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from langgraph.graph import END, START, StateGraph

from graph.deps import WorkflowDeps
from graph.gate import GateConfig, Node, add_gate
from graph.nodes.email import (
    after_gate,
    after_send,
    await_send,
    describe_email,
    draft_email,
    rejected,
    revise,
    send_email,
)
from graph.state import EmailWorkflowState


@dataclass(frozen=True)
class EmailFlow:
    """The parameters that make one email workflow differ from another."""

    name: str
    version: str
    purpose: str
    step: str
    title: str
    risk: str
    remind_after: timedelta | None = timedelta(days=1)
    expires_after: timedelta | None = timedelta(days=7)
    prelude: Sequence[tuple[str, Node]] = field(default_factory=tuple)
    after_send: tuple[str, Node] | None = None


def build_email_flow(flow: EmailFlow, *, deps: WorkflowDeps) -> StateGraph[Any]:
    """Build (not compile) the graph for ``flow``."""
    graph: StateGraph[Any] = StateGraph(EmailWorkflowState)
    previous = START
    for name, node in flow.prelude:
        graph.add_node(name, node)
        graph.add_edge(previous, name)
        previous = name
    graph.add_node(
        "draft",
        draft_email(
            deps=deps,
            workflow=flow.name,
            version=flow.version,
            purpose=flow.purpose,
            recipient=lambda s: s["inputs"]["email"],
        ),
    )
    ask = add_gate(
        graph,
        deps=deps,
        gate=GateConfig(
            workflow=flow.name,
            version=flow.version,
            step=flow.step,
            risk=flow.risk,
            remind_after=flow.remind_after,
            expires_after=flow.expires_after,
        ),
        describe=describe_email(flow.title),
    )
    graph.add_node("revise", revise)
    graph.add_node(
        "send", send_email(deps=deps, workflow=flow.name, version=flow.version, step=flow.step)
    )
    graph.add_node("rejected", rejected)
    graph.add_node("await_send", await_send)
    graph.add_edge("await_send", "send")
    graph.add_edge(previous, "draft")
    graph.add_edge("draft", ask)
    graph.add_conditional_edges("approve", after_gate)
    graph.add_edge("revise", ask)
    done: str = END
    if flow.after_send is not None:
        done, node = flow.after_send
        graph.add_node(done, node)
        graph.add_edge(done, END)
    graph.add_conditional_edges("send", after_send, {"await_send": "await_send", "done": done})
    graph.add_edge("rejected", END)
    return graph
