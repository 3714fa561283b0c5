"""What workflow nodes may touch: handed in at build time, never imported globals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo

from adapters.drafting import Drafter
from adapters.email import EmailSender
from memory.db import Sessions


@dataclass(frozen=True)
class WorkflowDeps:
    """The adapters and storage a workflow's nodes use."""

    sessions: Sessions
    email: EmailSender
    drafter: Drafter
    zone: tzinfo = UTC  # the operator's time zone (DESKHAND_TIMEZONE), for times shown
