"""The promise and privacy guards: pure, text in, findings out (what the writer is shown)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gripewatch.alerts.guards import DEFAULT_PATTERNS, Draft, check, find_promises, refusal

NOON = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def draft(text: str, p90: timedelta | None = timedelta(hours=5), **kw) -> Draft:
    return Draft(text=text, public=kw.pop("public", True), priority="high", measured_p90=p90, now=NOON, **kw)


def test_a_promise_sooner_than_the_measured_p90_is_shown_with_the_figure_and_a_wording():
    v = check(draft("Sorry Dana, we'll sort it within the hour."))
    (w,) = [w for w in v.warnings if w.kind == "time"]
    assert w.phrase == "within the hour"
    assert "5 hours" in w.message and "high" in w.message
    assert w.suggestion == "Sorry Dana, we'll sort it within 5 hours."
    assert v.may_send and not v.refused


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("We'll get back to you today", "today"),
        ("a fix goes out in 30 minutes", "in 30 minutes"),
        ("you will have it by tomorrow", "by tomorrow"),
        ("we're on it right away", "right away"),
        ("we will reply ASAP", "ASAP"),
        ("someone calls you within 2 hours", "within 2 hours"),
        ("back to you shortly", "shortly"),
        ("immediately looking at it", "immediately"),
        ("by end of day", "by end of day"),
    ],
)
def test_time_promises_are_found(text: str, phrase: str):
    found = find_promises(text, NOON)
    assert [p.phrase for p in found if p.kind == "time"] == [phrase]


def test_a_promise_the_team_keeps_is_not_a_warning():
    assert check(draft("We'll get back to you within 6 hours.")).warnings == ()
    assert check(draft("We'll get back to you by tomorrow.")).warnings == ()


def test_too_few_measurements_means_no_time_can_be_promised():
    (w,) = check(draft("We'll reply within 3 days", p90=None)).warnings
    assert "not measured" in w.message and "as soon as we can" in (w.suggestion or "")


@pytest.mark.parametrize("text", ["Don't worry, we'll fix it.", "Your refund is on its way!", "We will replace it"])
def test_resolution_promises_are_found_and_shown(text: str):
    (w,) = check(draft(text)).warnings
    assert w.kind == "resolution" and "outcome" in w.message and w.suggestion


def test_privacy_guard_refuses_an_order_number_and_address_in_public_and_offers_private():
    v = check(draft("Hi Dana, your order 48213 to 12 Elm St is late, sorry."))
    assert not v.may_send and v.offer_private
    assert {r.kind for r in v.refused} >= {"order_number", "address"}
    assert "48213" not in v.refused[0].message  # the refusal never repeats the detail
    assert refusal(v.refused).startswith("This looks like it contains an order number and a street address:")
    assert check(draft("Hi Dana, your order 48213 to 12 Elm St is late, sorry.", public=False)).refused == ()


@pytest.mark.parametrize(
    "text, kind",
    [
        ("mail us at dana.smith@example.com", "email"),
        ("we called +44 7700 900123", "phone"),
        ("we see SW1A 1AA on file", "postcode"),
        ("card 4111 1111 1111 1111 was charged", "card_number"),
        ("account number 12345678 is fine", "account_number"),
    ],
)
def test_privacy_guard_finds_each_kind(text: str, kind: str):
    assert kind in {r.kind for r in check(draft(text)).refused}


def test_the_customers_full_name_is_private_but_a_first_name_or_handle_is_not():
    assert "customer_name" in {r.kind for r in check(draft("Sorry Dana Smith!", customer_name="Dana Smith")).refused}
    assert check(draft("Sorry Dana, @dana_s!", customer_name="Dana Smith")).refused == ()


def test_patterns_are_configurable():
    pats = {**DEFAULT_PATTERNS, "loyalty": r"\bLOY-\d+\b"}
    assert check(draft("your LOY-991 points", patterns=pats)).refused[0].kind == "loyalty"
    assert check(draft("your order 48213", patterns={})).refused == ()


def test_the_suggested_reply_of_a_case_passes_both_guards():
    from gripewatch.alerts.reply import suggested_reply

    text = suggested_reply("dana", "Acme", ["delivery"], timedelta(hours=5))
    v = check(draft(text, customer_name="Dana Smith"))
    assert v.warnings == () and v.refused == ()


@given(st.text(max_size=300))
def test_guards_never_crash(text: str):
    check(draft(text, customer_name="Dana Smith"))
