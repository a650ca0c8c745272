"""``gripewatch cases reply`` and ``gripewatch config check`` with replying configured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gripewatch.cli import cli as main
from tests.conftest import write_config
from tests.fakes.answer import PostingMastodon

COMPLAINT = "@AcmeHelp my Acme Hub order never arrived, still waiting two weeks later. Where is my refund?"
AGENT = "UAGENT1"


@pytest.fixture
def mastodon() -> Iterator[PostingMastodon]:
    fake = PostingMastodon().start()
    yield fake  # type: ignore[misc]
    fake.stop()


def config(tmp_path: Path, fake: PostingMastodon, **reply: Any) -> Path:
    rec = {"id": "1001", "text": COMPLAINT, "author": "dana", "created_at": "2026-11-10T09:00:00Z"}
    (tmp_path / "m.jsonl").write_text(json.dumps(rec) + "\n")
    return write_config(
        tmp_path,
        {
            "database": {"url": "sqlite:///g.db"},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"mastodon": "AcmeHelp"}}],
            "sources": [{"name": "replay", "type": "replay", "path": "m.jsonl", "platform": "mastodon"}],
            "staff": [{"slack_id": AGENT, "name": "Ann"}],
            "reply": {
                "enabled": True,
                "mastodon": {"api_base_url": fake.base_url, "access_token": "${GW_TEST_MASTODON}"},
                **reply,
            },
        },
    )


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GW_TEST_MASTODON", "s3cret-mastodon-token")
    return CliRunner()


def test_config_check_lists_which_platforms_can_reply_without_secrets(tmp_path, mastodon, runner):
    res = runner.invoke(main, ["config", "check", "--config", str(config(tmp_path, mastodon))])
    assert res.exit_code == 0, res.output
    assert "reply on mastodon: yes" in res.output
    assert "reply on x: no (not configured: reply.x.consumer_key" in res.output
    assert "s3cret" not in res.output


def test_a_secret_written_into_the_file_is_refused(tmp_path, mastodon, runner):
    cfg = config(tmp_path, mastodon, x={"consumer_key": "literal-key"})
    res = runner.invoke(main, ["config", "check", "--config", str(cfg)])
    assert res.exit_code == 2 and "reply.x.consumer_key: must be an ${ENV_VAR} reference" in res.output
    assert "literal-key" not in res.output


def test_cases_reply_runs_the_guards_then_posts_once(tmp_path, mastodon, runner):
    cfg = str(config(tmp_path, mastodon))
    assert runner.invoke(main, ["run-once", "--config", cfg]).exit_code == 0
    base = ["cases", "reply", "1", "--as", AGENT, "--config", cfg]

    res = runner.invoke(main, [*base, "--text", "Hi, your order 48213 to 12 Elm St is late."])
    assert res.exit_code == 1 and "order number" in res.output and "private message" in res.output
    res = runner.invoke(main, [*base, "--text", "Hi Dana, we'll get back to you within the hour."])
    assert res.exit_code == 1 and "--send-anyway" in res.output and "not measured" in res.output
    assert mastodon.created == []

    res = runner.invoke(main, [*base, "--text", "Hi Dana, we'll get back to you within the hour.", "--send-anyway"])
    assert res.exit_code == 0, res.output
    assert "posted on mastodon: https://fake.social/@acme/" in res.output
    res = runner.invoke(main, [*base, "--text", "Your order 48213 to 12 Elm St is with the courier.", "--private"])
    assert res.exit_code == 0, res.output
    assert [c["visibility"] for c in mastodon.created] == ["public", "direct"]
    shown = runner.invoke(main, ["cases", "show", "1", "--json", "--config", cfg])
    kinds = [e["kind"] for e in json.loads(shown.output)["events"]]
    assert kinds.count("reply_posted") == 2 and kinds.count("reply_written") == 2


def test_nothing_is_posted_while_replying_is_off(tmp_path, mastodon, runner):
    cfg = str(config(tmp_path, mastodon, enabled=False))
    assert runner.invoke(main, ["run-once", "--config", cfg]).exit_code == 0
    res = runner.invoke(main, ["cases", "reply", "1", "--as", AGENT, "--text", "Hi, sorry!", "--config", cfg])
    assert res.exit_code == 1 and "reply.enabled is false" in res.output
    assert mastodon.created == []


def test_an_id_no_column_can_hold_is_no_such_case(tmp_path, mastodon, runner):
    cfg = str(config(tmp_path, mastodon))
    assert runner.invoke(main, ["run-once", "--config", cfg]).exit_code == 0
    res = runner.invoke(main, ["cases", "reply", str(2**70), "--as", AGENT, "--text", "Hi", "--config", cfg])
    assert res.exit_code == 1 and "no case #" in res.output and "Traceback" not in res.output
