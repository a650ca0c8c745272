"""Shared test helpers: the ../shared fixtures directory beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def training_csv() -> Path:
    """The labelled training file; skip (or fail with GRIPEWATCH_REQUIRE_SHARED=1) when missing."""
    path = SHARED / "data" / "complaints_train.csv"
    if not path.exists():
        if os.environ.get("GRIPEWATCH_REQUIRE_SHARED") == "1":
            pytest.fail(f"{path} is missing and GRIPEWATCH_REQUIRE_SHARED=1")
        pytest.skip(f"{path} not found")
    return path
