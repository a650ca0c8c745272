"""Sources of mentions, registered by the ``type`` name used in config.yaml."""

from __future__ import annotations

from collectors.base import Collector, Mention, Page, parse_time
from collectors.replay import ReplayCollector

REGISTRY: dict[str, type] = {
    "replay": ReplayCollector,
}

__all__ = ["REGISTRY", "Collector", "Mention", "Page", "parse_time"]
