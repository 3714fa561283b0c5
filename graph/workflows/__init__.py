"""The workflows Deskhand knows, by name."""

from __future__ import annotations

from graph.spec import WorkflowSpec
from graph.workflows import checkin, onboarding, update_contact


def available() -> dict[str, WorkflowSpec]:
    """Return every workflow spec keyed by name (aliases resolve via :func:`lookup`)."""
    return {spec.name: spec for spec in (onboarding.SPEC, checkin.SPEC, update_contact.SPEC)}


def lookup(specs: dict[str, WorkflowSpec], name: str) -> WorkflowSpec | None:
    """Find a spec by name or alias, case-insensitively."""
    key = name.strip().lower()
    for spec in specs.values():
        if key == spec.name or key in spec.aliases:
            return spec
    return None
