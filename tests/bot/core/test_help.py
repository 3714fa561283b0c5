"""The command catalogue's order: menus list the groups' commands the way /help does."""

from __future__ import annotations

from bot.core.help import in_help_order


def test_groups_merge_into_help_order_with_unlisted_commands_after_their_neighbour() -> None:
    merged = dict.fromkeys(
        "help start run cancel resolve retry pending runs show approve reject edit"
        " digest snooze schedule schedules unschedule approvelow".split()
    )

    assert list(in_help_order(merged)) == (
        "help start run pending approve reject edit runs show cancel resolve retry"
        " digest snooze schedule schedules unschedule approvelow".split()
    )
