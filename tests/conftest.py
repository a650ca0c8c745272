"""Tiny per-test fixtures: a fresh database (SQLite, and PostgreSQL when
GRIPEWATCH_TEST_POSTGRES_URL is set), the shared fixtures folder, a fake Slack."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

from gripewatch.config import Settings, settings_from_dict
from gripewatch.db import Database, open_database
from tests import hypothesis_profiles  # noqa: F401  (registers and loads the profile)
from tests.fakes.slack import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PG_URL = os.environ.get("GRIPEWATCH_TEST_POSTGRES_URL")


def require_shared() -> Path:
    """../shared (as in CI), or skip — unless GRIPEWATCH_REQUIRE_SHARED=1 makes it mandatory."""
    if SHARED.is_dir():
        return SHARED
    if os.environ.get("GRIPEWATCH_REQUIRE_SHARED") == "1":
        pytest.fail(f"{SHARED} is missing but GRIPEWATCH_REQUIRE_SHARED=1")
    pytest.skip("../shared fixtures are not beside this clone")


@pytest.fixture
def shared() -> Path:
    return require_shared()


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"  # type: ignore[operator]
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a temp SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not PG_URL:
        pytest.skip("GRIPEWATCH_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    d = open_database(db_url)
    yield d
    d.dispose()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


BRAND = {"name": "Acme", "keywords": ["acme", "acme cloud"], "handles": {"x": "AcmeHelp"}}


def make_settings(
    tmp_path: Path, db_url: str, records: list[dict[str, Any]] | None = None, **overrides: Any
) -> Settings:
    """Settings with one replay source over ``records`` (written to a JSONL file)."""
    import json

    data_file = tmp_path / "mentions.jsonl"
    if records is not None:
        data_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    data: dict[str, Any] = {
        "database": {"url": db_url},
        "brands": [BRAND],
        "sources": [{"name": "replay", "type": "replay", "path": str(data_file), "platform": "x", "page_size": 50}],
        "slack": {"mode": "console"},
    }
    data.update(overrides)
    return settings_from_dict(data, tmp_path / "config.yaml")


def write_config(tmp_path: Path, data: dict[str, Any]) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


@pytest.fixture
def training_csv() -> Path:
    """The labelled training file (../shared/data/complaints_train.csv); skips like ``shared``."""
    return require_shared() / "data" / "complaints_train.csv"


def word(i: int) -> str:
    """A made-up word for ``i`` ("bcd" for 123): posts that differ by it are not copies of each other
    (numbers alone do not make a post distinct; see the pipeline's near-duplicate rule)."""
    return "".join(chr(97 + int(d)) for d in str(i))
