"""Workflow specifications: name, version, input fields and how to build the graph."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import StateGraph

from graph.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+$")


def one_line(limit: int) -> Callable[[str], str]:
    """Validator: a single line of at most ``limit`` characters."""

    def check(value: str) -> str:
        text = value.strip()
        if "\n" in text or "\r" in text:
            raise ValueError("must be a single line")
        if len(text) > limit:
            raise ValueError(f"is {len(text)} characters; the limit is {limit}")
        return text

    return check


def text_block(limit: int) -> Callable[[str], str]:
    """Validator: free text of at most ``limit`` characters."""

    def check(value: str) -> str:
        text = value.replace("\\n", "\n").strip()
        if len(text) > limit:
            raise ValueError(f"is {len(text)} characters; the limit is {limit}")
        return text

    return check


def email_address(value: str) -> str:
    """Validator: one plain email address."""
    text = value.strip()
    if len(text) > 254 or not _EMAIL.match(text):
        raise ValueError("is not an email address like ana@example.com")
    return text


@dataclass(frozen=True)
class Field:
    """One input or editable field of a workflow."""

    name: str
    help: str
    check: Callable[[str], str]
    required: bool = True


@dataclass(frozen=True)
class WorkflowSpec:
    """What the run manager needs to know about a workflow."""

    name: str
    version: str
    description: str
    inputs: tuple[Field, ...]
    editable: tuple[Field, ...]
    build: Callable[..., StateGraph[Any]]
    aliases: tuple[str, ...] = field(default=())

    def validate_inputs(self, values: Mapping[str, str]) -> dict[str, str]:
        """Check and normalise start inputs; raise InvalidInput naming every problem."""
        return _validate(self.inputs, values, require=True, what=f"/run {self.name}")

    def validate_edits(self, values: Mapping[str, str]) -> dict[str, str]:
        """Check and normalise edited fields; raise InvalidInput naming every problem."""
        if not values:
            names = ", ".join(f.name for f in self.editable)
            raise InvalidInput(
                f'Say what to change, e.g. subject="New subject". Editable: {names}.'
            )
        return _validate(self.editable, values, require=False, what="/edit")

    def usage(self) -> str:
        """One line showing how to start the workflow."""
        parts = [f"{f.name}=…" if f.required else f"[{f.name}=…]" for f in self.inputs]
        return f"/run {self.name} " + " ".join(parts)


def _validate(
    fields: tuple[Field, ...], values: Mapping[str, str], *, require: bool, what: str
) -> dict[str, str]:
    known = {f.name: f for f in fields}
    problems: list[str] = []
    unknown = sorted(set(values) - set(known))
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(known)})")
    clean: dict[str, str] = {}
    for f in fields:
        if f.name not in values:
            if require and f.required:
                problems.append(f"{f.name} is missing ({f.help})")
            continue
        try:
            clean[f.name] = f.check(values[f.name])
        except ValueError as exc:
            problems.append(f"{f.name} {exc}")
        else:
            if f.required and not clean[f.name]:
                problems.append(f"{f.name} is empty ({f.help})")
    if problems:
        raise InvalidInput(f"{what}: " + "; ".join(problems) + ".")
    return clean
