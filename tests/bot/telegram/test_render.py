"""Cards and replies as Telegram HTML: sizes, escaping, keyboards. Pure: no network."""

from __future__ import annotations

import dataclasses
import html
from datetime import UTC, datetime, timedelta

from bot.core.messages import (
    ApprovalCard,
    ApprovalList,
    EventView,
    Response,
    RunDetails,
    RunStarted,
    RunView,
    Text,
)
from bot.telegram.cards import card, editable, field_keyboard, full_preview
from bot.telegram.chunks import MAX_MESSAGE, units
from bot.telegram.render import messages, refusal_alert
from tests.fixtures.views import approval_view

NOW = datetime(2026, 11, 21, 14, 30, tzinfo=UTC)
BODY = "Dear Bo & <team>,\n\n" + "We will build it & ship it <fast>. " * 600  # ~21,000 units
VIEW = approval_view(
    now=NOW,
    summary="Send \u201cHi & <bye>\u201d to bo@example.com.",
    preview={"kind": "email", "to": "bo@example.com", "subject": "Hi & <bye>", "body": "Short."},
)
RUN = RunView("r3fk9q2xm", "onboarding", "waiting", None, None, "telegram:111", NOW, NOW)


def labels_and_data(markup: object) -> list[tuple[str, str]]:
    rows = getattr(markup, "inline_keyboard", ())
    return [(b.text, str(b.callback_data)) for row in rows for b in row]


def test_a_pending_card_escapes_user_text_and_offers_three_buttons() -> None:
    rendered = card(VIEW, now=NOW)
    assert "Hi &amp; &lt;bye&gt;" in rendered.html and "<bye>" not in rendered.html
    assert "<blockquote>Short.</blockquote>" in rendered.html
    assert "Approval K7M2Q \u00b7 run r3fk9q2xm \u00b7 high risk" in rendered.html
    assert not rendered.truncated
    assert [d for _, d in labels_and_data(rendered.keyboard)] == ["a:K7M2Q", "r:K7M2Q", "e:K7M2Q"]


def test_only_offered_actions_get_buttons() -> None:
    view = dataclasses.replace(VIEW, actions=("approve", "reject"))
    assert [d for _, d in labels_and_data(card(view, now=NOW).keyboard)] == ["a:K7M2Q", "r:K7M2Q"]


def test_a_long_email_is_shortened_to_fit_with_a_show_more_button() -> None:
    view = dataclasses.replace(VIEW, preview={**VIEW.preview, "body": BODY})
    rendered = card(view, now=NOW)
    assert rendered.truncated and units(rendered.html) <= MAX_MESSAGE
    assert units(rendered.html) > MAX_MESSAGE - 200  # the room is used, not wasted
    assert rendered.html.count("<blockquote>") == rendered.html.count("</blockquote>") == 1
    assert "Show more" in rendered.html and "Approval K7M2Q" in rendered.html
    assert ("\U0001f4c4 Show more", "more:K7M2Q") in labels_and_data(rendered.keyboard)


def test_the_full_preview_holds_the_whole_body_in_messages_that_fit() -> None:
    view = dataclasses.replace(VIEW, preview={**VIEW.preview, "body": BODY})
    pages = full_preview(view)
    assert len(pages) >= 6 and all(units(page) <= MAX_MESSAGE for page in pages)
    assert "<b>Subject:</b> Hi &amp; &lt;bye&gt;" in pages[0]
    body = " ".join(html.unescape(page) for page in pages[1:])
    assert body.split() == BODY.split()


def test_a_decided_card_shows_who_and_when_and_no_buttons() -> None:
    decided = dataclasses.replace(
        VIEW,
        status="rejected",
        decided_text="rejected by Ana at 2026-11-21 14:02 UTC",
        reason="not <now> & never",
    )
    done = dataclasses.replace(RUN, status="rejected", detail="Rejected by Ana")
    rendered = card(decided, now=NOW, run=done)
    assert "\U0001f6ab <b>Rejected by Ana at 14:02 UTC</b>" in rendered.html
    assert "Reason: not &lt;now&gt; &amp; never" in rendered.html
    assert "Run r3fk9q2xm rejected: Rejected by Ana" in rendered.html
    assert rendered.keyboard is None
    tomorrow = card(decided, now=NOW + timedelta(days=1))
    assert "Rejected by Ana at 2026-11-21 14:02 UTC" in tomorrow.html


def test_edit_offers_the_email_fields_then_back() -> None:
    assert editable(VIEW) == ["to", "subject", "body"]
    assert labels_and_data(field_keyboard(VIEW, editable(VIEW))) == [
        ("To", "ef:K7M2Q:to"),
        ("Subject", "ef:K7M2Q:subject"),
        ("Body", "ef:K7M2Q:body"),
        ("\u00ab Back", "b:K7M2Q"),
    ]


def test_a_response_becomes_text_then_a_card_of_its_own() -> None:
    response = Response((RunStarted(RUN), ApprovalCard(VIEW)))
    started, shown = messages(response, now=NOW)
    assert "Started <b>onboarding</b> run <code>r3fk9q2xm</code>" in started.html
    assert started.approval is None and started.keyboard is None
    assert shown.approval == VIEW and shown.keyboard is not None


def test_long_replies_are_split_into_several_messages() -> None:
    events = tuple(
        EventView(NOW, "telegram:111", "note", f"step {n} & <more> " * 8) for n in range(400)
    )
    details = RunDetails(run=RUN, approvals=(VIEW,), events=events)
    sent = messages(Response((details, Text("x & y " * 2000, "warn"))), now=NOW)
    assert len(sent) > 5 and all(units(m.html) <= MAX_MESSAGE for m in sent)
    assert all(m.html.count("<code>") == m.html.count("</code>") for m in sent)
    joined = "\n".join(m.html for m in sent)
    assert joined.count("step ") == 400 * 8 and "step 399 &amp; &lt;more&gt;" in joined
    assert joined.count("&amp; y") == 2000 and joined.count("\u26a0\ufe0f ") == 1


def test_pending_list_has_a_button_per_approval() -> None:
    (listing,) = messages(Response((ApprovalList((VIEW,)),)), now=NOW)
    assert "<code>K7M2Q</code> 5m" in listing.html
    assert labels_and_data(listing.keyboard) == [("K7M2Q \u00b7 Send welcome email", "o:K7M2Q")]


def test_refusal_alerts_are_short() -> None:
    decided = dataclasses.replace(
        VIEW, status="approved", decided_text="approved by Ana at 2026-11-21 14:02 UTC"
    )
    already = Response((Text("Approval K7M2Q was already ...", "warn"), ApprovalCard(decided)))
    assert refusal_alert(already, now=NOW) == "Already approved by Ana at 14:02 UTC."
    refused = Response((Text("Sorry, you are not allowed to approve this. " * 9, "warn"),))
    assert units(refusal_alert(refused, now=NOW)) <= 200
