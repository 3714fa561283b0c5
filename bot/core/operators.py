"""Who may act: configured operators per channel; the local terminal user always may."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.core.messages import User

LOCAL_CHANNELS = frozenset({"terminal", "cli"})


@dataclass(frozen=True)
class Operators:
    """The allow-list: channel → user ids allowed to start runs and decide approvals."""

    allowed: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, **per_channel: Iterable[object]) -> Operators:
        """Build from lists of ids per channel, e.g. ``Operators.of(telegram=[42])``."""
        return cls({ch: frozenset(str(i) for i in ids) for ch, ids in per_channel.items()})

    def allows(self, user: User) -> bool:
        """True when ``user`` is an operator of its channel."""
        if user.channel in LOCAL_CHANNELS:
            return True
        return user.id in self.allowed.get(user.channel, frozenset())

    def setting_for(self, channel: str) -> str:
        """The environment variable that lists a channel's operators."""
        return f"{channel.upper()}_ALLOWED_USERS"
