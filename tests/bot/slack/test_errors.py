"""The one error handler: a reference id for the user and the log, never the exception."""

from __future__ import annotations

import logging
import re
import time

import pytest

from tests.bot.slack.harness import SECRET, SlackHarness

REF = re.compile(r"ref ([0-9a-f]{8})")


async def test_a_failing_handler_tells_the_user_a_reference(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    approval_id, ts = await slack.new_card()
    slack.fake.fail_next("views.open", error="fatal_error", status=200)
    answer = await slack.click("deskhand.reject", approval_id, ts)
    assert answer.status == 200  # acknowledged before anything could fail
    texts = [c.params["text"] for c in await slack.fake.wait_for("respond", 2)]
    told = texts[-1]
    match = REF.search(told)
    assert match and "fatal_error" not in told and "Traceback" not in told
    (record,) = [r for r in caplog.records if r.getMessage() == "Slack request failed"]
    assert record.ref == match.group(1)  # type: ignore[attr-defined]
    assert record.exc_info is not None and "fatal_error" in str(record.exc_info[1])
    logged = "\n".join(r.getMessage() + str(vars(r)) for r in caplog.records)
    assert slack.fake.bot_token not in logged and SECRET not in logged


async def test_without_a_response_url_the_reference_goes_to_a_dm(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    approval_id, _ = await slack.new_card()
    slack.fake.fail_next("views.open", error="fatal_error", status=200)
    view = {"id": "V0HOMEVIEW", "type": "home", "private_metadata": ""}
    started = time.perf_counter()
    answer = await slack.click_in_view("deskhand.edit", approval_id, view)
    # Acked before failing, and the ack survives the failure (no 3 s wait, no 404).
    assert answer.status == 200 and time.perf_counter() - started < 1
    dms = await slack.fake.wait_for(
        "chat.postMessage", predicate=lambda c: str(c.params["channel"]).startswith("D")
    )
    assert REF.search(dms[0].params["text"])
