"""``AnalysisSettings``: what analysis needs from config (``analysis:`` in config.yaml).

Kept apart from the scoring code so that reading the configuration loads no model, numpy or VADER.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from gripewatch.analysis import rules
from gripewatch.analysis.topics import DEFAULT_THIRD_PARTIES, DEFAULT_TOPICS


@dataclass(frozen=True)
class AnalysisSettings:
    """What analysis needs from config (``analysis:`` in config.yaml); every field has a default.

    ``complaint_threshold`` ``None`` means the threshold recorded in the model
    artifact. ``rule_complaints``: escalation triggers that make a text whose
    VADER compound is below ``rule_complaint_max_sentiment`` a complaint even when the model scores it
    below the threshold (the model learnt from tweets addressed to brands).
    Pattern lists are regular expressions in lower case, matched against the
    lower-cased text; regulator,
    third-party and competitor names are plain names matched as whole words.
    """

    complaint_threshold: float | None = None
    explain: bool = True
    max_reasons: int = 4
    manager_patterns: tuple[str, ...] = rules.MANAGER
    legal_patterns: tuple[str, ...] = rules.LEGAL
    regulators: tuple[str, ...] = rules.REGULATORS
    safety_patterns: tuple[str, ...] = rules.SAFETY
    churn_patterns: tuple[str, ...] = rules.CHURN
    repeat_patterns: tuple[str, ...] = rules.REPEAT
    repeat_contact_min: int = 1
    topics: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType(DEFAULT_TOPICS))
    third_parties: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType(DEFAULT_THIRD_PARTIES)
    )
    competitors: tuple[str, ...] = ()
    noise_probability_cap: float = 0.05
    rule_complaints: tuple[str, ...] = ("safety", "legal", "manager", "churn", "repeat_contact")
    rule_complaint_max_sentiment: float = 0.3

    @classmethod
    def from_mapping(cls, data: Mapping[str, object] | None) -> AnalysisSettings:
        """Build from the ``analysis:`` config mapping (lists become tuples).

        Unknown keys raise ``ValueError``.
        """
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown analysis settings: {', '.join(unknown)}")
        for key, value in data.items():
            if isinstance(value, Mapping):
                data[key] = MappingProxyType(
                    {str(k): tuple(v) if isinstance(v, list | tuple) else (str(v),) for k, v in value.items()}
                )
            elif isinstance(value, list):
                data[key] = tuple(value)
        return cls(**data)  # type: ignore[arg-type]

    def rule_patterns(self) -> list[tuple[str, rules.Gated | rules.NameMatcher | None]]:
        """Compiled escalation rules, ``[(trigger, pattern)]`` (cached per pattern list)."""
        churn = self.churn_patterns
        if self.competitors:
            names = "|".join(re.escape(c.lower()) for c in self.competitors)
            churn = (*churn, rf"\b(?:switch(?:ing|ed)?|mov(?:e|ing)|go(?:ing)?) (?:over )?to (?:{names})\b")
        return [
            ("safety", rules.compile_any(tuple(self.safety_patterns))),
            ("legal", rules.compile_any(tuple(self.legal_patterns))),
            ("legal", rules.compile_names(tuple((r, (r,)) for r in self.regulators))),
            ("manager", rules.compile_any(tuple(self.manager_patterns))),
            ("churn", rules.compile_any(tuple(churn))),
            ("repeat_contact", rules.compile_any(tuple(self.repeat_patterns))),
        ]
