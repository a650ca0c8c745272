"""Escalation triggers, severity, topics, third parties and noise, as staff would see them."""

from __future__ import annotations

import pytest

from gripewatch.analysis import AnalysisSettings, analyse, analyse_batch
from gripewatch.analysis.noise import is_near_duplicate, near_duplicate_key, noise_kind

TRIGGERS = [
    ("manager", "@AcmeBank this is unacceptable, I want to speak to a manager now"),
    ("manager", "@ShopCo your chat agent was useless, get me a supervisor"),
    ("legal", "@AcmeBank you took my money twice and won't refund it, my lawyer will be in touch"),
    ("legal", "@PowerCo overcharged again, I'm reporting you to Ofgem"),
    ("legal", "@FastNet three months of outages, complaint going to the ombudsman"),
    ("legal", "@ShopCo no refund after 6 weeks, filing in small claims court"),
    ("safety", "@GadgetCo my charger caught fire overnight, this is dangerous"),
    ("safety", "@BurgerPlace my daughter had an allergic reaction to your 'nut free' bun"),
    ("safety", "@SnackCo got food poisoning from your chicken wrap, ended up in hospital"),
    ("churn", "@StreamCo the app is broken again, cancelling my subscription today"),
    ("churn", "@ShopCo parcel lost twice, never buying from you again"),
    ("repeat_contact", "@AcmeAir this is the third time I've asked about my lost bag"),
    ("repeat_contact", "@FastNet still no reply to my email from last week, broadband is down"),
]


@pytest.mark.parametrize(("trigger", "text"), TRIGGERS)
def test_trigger_fires_with_reason(trigger, text):
    r = analyse(text)
    assert r.is_complaint
    assert trigger in r.escalation
    assert any(
        reason.split(":")[0]
        in {
            "asks for a manager or supervisor",
            "legal or regulator threat",
            "safety issue",
            "churn intent",
            "repeated contact",
        }
        for reason in r.reasons
    )
    assert r.severity in {"high", "critical"}


NEAR_MISSES = [
    "I could sue for how good this is",
    "cancel culture is exhausting honestly",
    "this burger is fire 🔥",
    "dying to try it, the new menu looks great",
    "killer deal on headphones today, grabbed two",
    "the manager at my local store was lovely today",
    "we are going again next year, can't wait!",
    "ups and downs all week but the team made it fun",
]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_trigger_nothing(text):
    r = analyse(text)
    assert r.escalation == ()
    assert r.third_parties == ()
    assert r.severity in {"low", "medium"}
    assert not any(reason.startswith("complaint by rule") for reason in r.reasons)


def test_safety_and_legal_wording_is_critical_even_without_a_brand_handle():
    r = analyse("The charger caught fire overnight and my son burned his hand. Contacting a lawyer.")
    assert r.is_complaint and r.severity == "critical"
    assert set(r.escalation) >= {"safety", "legal"}


def test_known_prior_contacts_count_as_repeat():
    text = "@AcmeAir my refund has not arrived and nobody replies to my emails"
    assert "repeat_contact" not in analyse(text).escalation
    r = analyse(text, prior_contacts=2)
    assert "repeat_contact" in r.escalation
    assert "repeated contact: 2 earlier contact(s)" in r.reasons


def test_competitor_switch_is_churn_when_configured():
    text = "@FastNet third day without internet, switching to RivalNet tomorrow"
    r = analyse(text, AnalysisSettings(competitors=("RivalNet",)))
    assert "churn" in r.escalation and r.competitors == ("RivalNet",)
    assert analyse(text).competitors == ()


TOPICS = [
    ("delivery", "@ShopCo where is my parcel? tracking hasn't moved in 5 days"),
    ("billing_refunds", "@AcmeBank you charged me twice for one order, I need a refund"),
    ("outage_bug", "@StreamCo the app keeps crashing every time I open it, useless"),
    ("account_login", "@SocialApp locked out of my account, the password reset email never comes"),
    ("product_quality", "@GadgetCo my brand new headphones are faulty, left side stopped working"),
    ("staff_service", "@CoffeeCo the staff at your Leeds branch were so rude to me this morning"),
    ("pricing", "@StreamCo why did my bill go up again? another price hike and the service is still awful"),
]


@pytest.mark.parametrize(("topic", "text"), TOPICS)
def test_topic_fires(topic, text):
    r = analyse(text)
    assert r.is_complaint
    assert topic in r.topics


def test_complaint_without_known_topic_is_other():
    r = analyse("@HotelCo worst stay of my life, never again")
    assert r.is_complaint and r.topics == ("other",)


def test_topics_are_configurable():
    s = AnalysisSettings.from_mapping({"topics": {"parking": [r"\bpark(?:ing)?\b"]}})
    r = analyse("@MallCo parking machine ate my card and nobody came to help, ridiculous", s)
    assert r.topics == ("parking",)
    with pytest.raises(ValueError, match="unknown analysis settings"):
        AnalysisSettings.from_mapping({"complaint_treshold": 0.3})


def test_third_parties_are_tagged():
    r = analyse("@ShopCo your courier Evri lost it and PayPal won't refund me, UPS was fine last time")
    assert r.third_parties == ("UPS", "Evri", "PayPal")


def test_noise_never_opens_a_case():
    cases = {
        "retweet": "RT @angrycustomer: @ShopCo worst service ever, still no refund",
        "spam": "Win a brand new iPhone! click here to enter our giveaway #win #free #iphone #prize #deal",
        "link_only": "@ShopCo https://t.co/abc123",
    }
    for kind, text in cases.items():
        assert noise_kind(text) == kind
        r = analyse(text)
        assert r.noise == kind and r.is_noise and not r.is_complaint
        assert r.complaint_probability <= 0.05


def test_own_posts_are_never_complaints():
    text = "We're sorry your order is late, still waiting on the courier, please DM us for a refund"
    own, other = analyse_batch([text, text], own_post=[True, False])
    assert own.noise == "own_post" and not own.is_complaint and own.complaint_probability == 0.0
    assert other.noise is None


def test_near_duplicates_share_a_key():
    a = "@ShopCo my order #12345 still hasn't arrived!! https://t.co/x1"
    b = "RT @bob: @ShopCo My order #99 still hasn't arrived https://t.co/y2"
    assert near_duplicate_key(a) == near_duplicate_key(b) == analyse(a).fingerprint
    assert near_duplicate_key(a) != near_duplicate_key("@ShopCo my order arrived, thanks!")
    assert is_near_duplicate(
        "my order still hasn't arrived and nobody replies to me at all",
        "my order still hasn't arrived and nobody replies to me at all today",
    )
    assert not is_near_duplicate("my order still hasn't arrived", "love the new flavour")


GATE_TEXTS = [
    "the charger caught fire and burned my son's hand",
    "went to a&e after an allergic reaction",
    "i want to speak to a manager now",
    "my lawyer will be in touch, see you in small claims",
    "third time calling, still no reply",
    "cancelling my subscription and switching to rivalnet",
    "where is my parcel? not arrived yet",
    "charged twice, no refund",
    "app keeps crashing, error code 5",
    "locked out of my account",
    "this issue is down to you",
    "i could sue for how good this is",
    "cancel culture is everywhere",
    "(?i) LAWYER in capitals is lower-cased before matching",
    "",
]


def test_literal_gates_never_change_a_match():
    from gripewatch.analysis import rules
    from gripewatch.analysis.topics import DEFAULT_TOPICS

    lists = [rules.MANAGER, rules.LEGAL, rules.SAFETY, rules.CHURN, rules.REPEAT, *DEFAULT_TOPICS.values()]
    for patterns in lists:
        gated = rules.compile_any(tuple(patterns))
        for text in GATE_TEXTS:
            low = text.lower()
            plain = gated.pattern.search(low)
            fast = gated.search(low)
            assert (plain and plain.group(0)) == (fast and fast.group(0)), (patterns, text)


def test_no_gate_when_one_cannot_be_derived():
    from gripewatch.analysis import rules

    assert rules.literal_gate([r"(?i)lawyer"]) is None  # case-insensitive: a literal test would miss
    assert rules.literal_gate([r"\w+ ?x"]) is None  # no literal of 2+ characters
    assert rules.literal_gate([r"\bsue\b"]).search("issue")  # a gate is a necessary condition only
    assert rules.compile_any((r"\bsue\b",)).search("issue") is None
