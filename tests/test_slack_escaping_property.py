"""Property (c): no generated text, in any customer field, yields a Slack mention, broadcast, channel
link, user-group ping or link in what we send to Slack -- blocks and fallback text, built by the real
card, thread, ops, note and digest builders -- nor a mrkdwn marker, a block quote or a control character.

Profiles (tests/hypothesis_profiles.py): HYPOTHESIS_PROFILE=ci (300 examples, the default) or long (20,000).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gripewatch.alerts import blocks, card, mrkdwn
from gripewatch.alerts.reply import suggested_reply
from gripewatch.config import DigestConfig
from gripewatch.dashboards.digest import DigestInput, Problem, Quote, build_digest
from gripewatch.dashboards.period import parse_period
from gripewatch.dashboards.render import render_slack_blocks, slack_fallback_text

TOKENS = [
    "<!", "<@", "<#", "<!channel>", "<!here>", "<!everyone>", "<@U0BOSS1>", "<@W12AB>", "<#C0GENERAL|general>",
    "<!subteam^S123|@team>", "<https://evil.example|click>", "<mailto:a@b.c|x>", "<javascript:alert(1)>",
    "|", ">", "<", "&", "&lt;", "&gt;", "&amp;", "&#60;", "*", "_", "~", "`", "```", "＊", "＿", "｀", "＞",
    "\n", "\n>", "\n> ", "\r", "\x00", "\x1b[31m", "\u202e", "\u2066", "\u200b", "\ufeff", ":here:", "@here",
    "http://", "https://", "javascript:", "slack://open", "//", " ", "\t",
]  # fmt: skip
hostile = st.lists(st.one_of(st.text(max_size=8), st.sampled_from(TOKENS)), max_size=25).map("".join)
urls = st.one_of(
    hostile,
    st.builds(
        lambda s, t: s + t, st.sampled_from(["http://", "https://", "HTTPS://", "javascript:", "slack://"]), hostile
    ),
)
ASSIGNEE = "<@UAGENT1>"
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
_DIGEST = build_digest(
    DigestInput(parse_period("2026-W47", "UTC"), datetime(2026, 11, 24, tzinfo=UTC), (), (), (), (), (), (), ("Acme",)),
    DigestConfig(),
)


def strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return [node] if isinstance(node, str) else []


def payload(text: str, handle: str, name: str, url: str, topic: str, actor: str) -> dict[str, Any]:
    """A case payload as ``alerts.card.card_payload`` makes it, every customer field hostile."""
    return {
        "case_id": 7, "brand": "Acme", "status": "new", "priority": "high", "priority_score": 40,
        "priority_parts": {"severity": 35, "reach": 5}, "mention_count": 2, "platform": "x", "url": url,
        "text": text, "created_at": "2026-11-20T08:00:00+00:00",
        "author": {"handle": handle, "name": name, "followers": 12, "tier": name, "vip": True},
        "sentiment": -0.5, "complaint_probability": 0.9, "severity": "high",
        "topics": [topic, "billing_refunds"], "escalation": [topic], "reasons": [text[:40], name],
        "assignee": "UAGENT1", "sla": {"first_response": {"due_at": "2026-11-20T09:00:00+00:00", "breached": True}},
        "history": [{"at": "2026-11-20T08:00:00+00:00", "actor": actor, "kind": "opened", "text": "opened"}],
        "suggested_reply": suggested_reply(handle, "Acme", [topic], None),
        "actions": ["acknowledge", "resolve"], "raised_from": "normal", "title": text,
    }  # fmt: skip


def sent(p: dict[str, Any]) -> list[str]:
    """Every string of every message the Slack notifier would send for ``p``, per alert kind."""
    out = []
    for kind in ("new_case", "card_update", "case_update", "ops"):
        out += strings(blocks.for_kind(kind, p)) + [blocks.fallback(kind, 7, p)]
    # thread notes and escalation posts: text gripewatch writes (naming who acted), a hostile title
    note = {**p, "text": f"{card.who('UAGENT1')} escalated case #7 (owner: {card.who(p['history'][0]['actor'])})."}
    for kind in ("note", "escalation"):
        out += strings(blocks.for_kind(kind, note)) + [
            blocks.fallback(kind, 7, note),
            blocks.fallback(kind, 7, {**note, "title": ""}),
        ]
    out.append(mrkdwn.escape(p["text"]))  # an ephemeral reply
    return out


def digest_strings(text: str, handle: str) -> list[str]:
    q = Quote(text, handle, "x", None, 7)
    d = dataclasses.replace(
        _DIGEST,
        highlights=[text],
        problems=[Problem(text, "phrase", 3, 1, ("Acme",), (q,), (7,))],
        high_reach=[q],
    )
    return strings(render_slack_blocks(d)) + [slack_fallback_text(d)]


def without_ours(s: str, url: str) -> str:
    """``s`` without the markup gripewatch itself adds: the owner's mention and the post's link."""
    s = s.replace(ASSIGNEE, "")
    link = mrkdwn.link(url, "view post")
    if link.startswith("<"):
        assert re.fullmatch(r"<https?://[^<>|\s]+\|view post>", link, re.I), link
        s = s.replace(link, "")
    return s


@given(text=hostile, handle=hostile, name=hostile, url=urls, topic=hostile, actor=hostile)
def test_no_customer_text_pings_links_or_restyles(
    text: str, handle: str, name: str, url: str, topic: str, actor: str
) -> None:
    p = payload(text, handle, name, url, topic, actor)
    neutral = payload("x", "x", "x", "https://x.example/p" if mrkdwn.link(url, "").startswith("<") else "x", "x", "x")
    got = sent(p) + digest_strings(text, handle)
    for s in got:
        rest = without_ours(s, url)
        assert "<" not in rest, (s, rest)  # no <!…>, <@…>, <#…>, <!subteam^…> or <url|label> from the customer
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", s)
    # mrkdwn markers: the customer adds none (inside code spans only backticks could break out, and cannot)
    ours = sent(neutral) + digest_strings("x", "x")
    for got_s, ours_s in zip(got, ours, strict=True):
        a, b = _CODE.sub("", without_ours(got_s, url)), _CODE.sub("", without_ours(ours_s, "https://x.example/p"))
        for marker in "*_~`":
            assert a.count(marker) <= b.count(marker), (marker, got_s)
        assert got_s.count("`") <= ours_s.count("`"), got_s


@given(text=hostile)
def test_escaped_text_has_no_block_quote_and_round_trips(text: str) -> None:
    out = mrkdwn.escape(text)
    for line in out.split("\n"):
        assert not re.match(r"\s*(&gt;|＞)", line), line
    # what Slack shows is what the customer wrote (markers as look-alikes, controls dropped)
    shown = out.replace("\u00ad", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    expected = re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", "", text)
    assert shown == expected.translate(str.maketrans("*＊_＿~`｀", "∗﹡ˍ⸏∼ˋˋ")).replace("\u00ad", "")
