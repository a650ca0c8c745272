"""Which brand a mention is about, and whether the brand itself wrote it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gripewatch.config import BrandConfig


@dataclass(frozen=True)
class BrandMatcher:
    brands: tuple[BrandConfig, ...]

    def __post_init__(self) -> None:
        pats = {}
        for b in self.brands:
            words = [re.escape(k.strip()) for k in b.keywords if k.strip()]
            handles = [re.escape(h.lstrip("@")) for hs in b.handles.values() for h in hs]
            alts = [rf"(?<![\w@#]){w}(?!\w)" for w in words] + [rf"@{h}(?!\w)" for h in handles]
            alts += [rf"#{w.replace(chr(92) + ' ', '')}(?!\w)" for w in words]
            pats[b.name] = re.compile("|".join(alts), re.IGNORECASE) if alts else None
        object.__setattr__(self, "_patterns", pats)

    def match(self, text: str) -> str | None:
        """The first configured brand whose keyword, #tag or @handle occurs in ``text``."""
        for name, pat in self._patterns.items():  # type: ignore[attr-defined]
            if pat is not None and pat.search(text):
                return str(name)
        return None

    def is_own(self, brand: str | None, platform: str, handle: str | None) -> bool:
        """True when ``handle`` is one of the brand's own accounts (on that platform, or any if unknown)."""
        if not handle:
            return False
        h = handle.lstrip("@").lower()
        for b in self.brands:
            if brand is not None and b.name != brand:
                continue
            own = b.handles.get(platform)
            candidates = own if own is not None else [x for hs in b.handles.values() for x in hs]
            if any(h == c.lstrip("@").lower() for c in candidates):
                return True
        return False
