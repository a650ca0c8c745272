"""The complaint model: artifact, calibration, explanations, retraining, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from gripewatch.analysis import AnalysisSettings, analyse, analyse_batch
from gripewatch.analysis.model import ARTIFACT_DIR, JSON_NAME, NPZ_NAME, load
from gripewatch.cli.model import model as model_cli
from tests.conftest import require_shared


def test_artifact_is_plain_data_and_loads_without_pickle():
    with np.load(ARTIFACT_DIR / NPZ_NAME, allow_pickle=False) as npz:
        assert {"vocab", "weights", "scalars", "dense_mean", "dense_std", "dense_coef"} <= set(npz.files)
        assert npz["vocab"].dtype.kind == "U"
    meta = json.loads((ARTIFACT_DIR / JSON_NAME).read_text())
    assert len(meta["training_data"]["sha256"]) == 64
    assert meta["cv"]["scheme"] == "stratified 10-fold"
    assert meta["cv"]["model"]["roc_auc"] >= 0.92
    assert meta["cv"]["model"]["macro_f1"] > meta["cv"]["vader_baseline"]["macro_f1"] + 0.1
    m = load()
    assert 0 < m.threshold < 1 and len(m.weights) > 1000


COMPLAINTS = [
    "@AcmeAir I have been waiting 3 weeks for my refund and still nothing. Why is nobody answering?",
    "@FastNet internet down AGAIN. third outage this week, sort it out",
    "@ShopCo my order never arrived and your chat just keeps disconnecting me. Ridiculous.",
]
NOT_COMPLAINTS = [
    "@AcmeAir thanks so much for the upgrade today, amazing crew!",
    "Loving the new flavour from @SnackCo, great job team",
    "Happy birthday to my best friend, have a wonderful day",
]


def test_model_separates_clear_complaints_from_praise():
    res = analyse_batch(COMPLAINTS + NOT_COMPLAINTS)
    assert [r.is_complaint for r in res] == [True] * 3 + [False] * 3
    assert min(r.complaint_probability for r in res[:3]) > max(r.complaint_probability for r in res[3:])


def test_flagged_complaints_explain_themselves():
    for r in analyse_batch(COMPLAINTS):
        assert r.reasons, r
        assert any(reason.startswith('"') and ("+" in reason) for reason in r.reasons), r.reasons
        assert any(reason.startswith("severity") for reason in r.reasons)


def test_explain_off_gives_no_feature_reasons():
    r = analyse(COMPLAINTS[0], AnalysisSettings(explain=False))
    assert r.is_complaint
    assert not any(reason.startswith('"') for reason in r.reasons)


def test_threshold_setting_changes_the_decision():
    text = COMPLAINTS[2]
    p = analyse(text).complaint_probability
    assert analyse(text, AnalysisSettings(complaint_threshold=min(p + 0.01, 1.0))).is_complaint is False
    assert analyse(text, AnalysisSettings(complaint_threshold=p)).is_complaint is True


GARBAGE = [
    None,
    b"\xff\xfe\x00bytes",
    "",
    " \n\t ",
    "x" * 200_000,
    "🔥" * 5000,
    "\ud800 lone surrogate",
    12345,
    object(),
    "Ω≈ç√∫ 日本語のテキスト",
    "RT @a:",
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_any_input_is_analysed_without_error(garbage):
    r = analyse(garbage)
    if r.needs_review:  # e.g. the Japanese one: not scored, a person reads it
        assert r.complaint_probability is None and r.is_complaint and r.language not in ("en", "und")
    else:
        assert r.complaint_probability is not None and 0.0 <= r.complaint_probability <= 1.0
    assert -1.0 <= r.sentiment <= 1.0
    assert r.severity in {"low", "medium", "high", "critical"}


def test_probabilities_are_in_unit_interval():
    texts = COMPLAINTS + NOT_COMPLAINTS + ["worst " * 300, "love " * 300]
    assert all(
        r.complaint_probability is not None and 0.0 <= r.complaint_probability <= 1.0 for r in analyse_batch(texts)
    )


@pytest.fixture(scope="module")
def retrained(tmp_path_factory):
    """One retraining from the labelled file (minutes of CPU), shared by the tests that need one."""
    from gripewatch.analysis.train import train

    out = tmp_path_factory.mktemp("retrained")
    return train(require_shared() / "data" / "complaints_train.csv", out_dir=out, lodo=False), out


@pytest.mark.shared
def test_retraining_reproduces_recorded_cv_metrics(retrained):
    res, tmp_path = retrained
    recorded = json.loads((ARTIFACT_DIR / JSON_NAME).read_text())
    assert res.replaced
    assert recorded["training_data"]["sha256"] == res.meta["training_data"]["sha256"]
    for key in ("macro_f1", "roc_auc", "f1"):
        assert abs(res.cv["model"][key] - recorded["cv"]["model"][key]) <= 0.01, key
    head = json.loads((ARTIFACT_DIR / "encoder_head.json").read_text())
    new_head = json.loads((tmp_path / "encoder_head.json").read_text())
    assert new_head["onnx_sha256"] == head["onnx_sha256"]  # the graph is copied, only the head is refitted
    for key in ("macro_f1", "roc_auc"):
        assert abs(res.cv["cascade"][key] - head["cv"]["cascade"][key]) <= 0.01, key
    load(tmp_path)  # the fast artifact written beside it loads


@pytest.mark.shared
def test_feedback_that_ruins_the_model_is_refused(training_csv, retrained):
    from gripewatch.analysis.train import train

    first, tmp_path = retrained
    before = (tmp_path / NPZ_NAME).read_bytes()
    head_before = (tmp_path / "encoder_head.json").read_bytes()
    # the same sentence (numbers are masked) labelled both ways: nothing to learn, CV must drop
    noisy = [(f"my order number {i} came today", i % 2) for i in range(1500)]
    res = train(training_csv, feedback=noisy, out_dir=tmp_path, lodo=False)
    assert not res.replaced and "kept the current model" in res.message
    assert "cascade CV macro-F1" in res.message and res.previous_cascade_macro_f1 == first.cv["cascade"]["macro_f1"]
    assert (tmp_path / NPZ_NAME).read_bytes() == before
    assert (tmp_path / "encoder_head.json").read_bytes() == head_before


def test_eval_command_scores_artifact_and_baseline(tmp_path):
    data = tmp_path / "labelled.jsonl"
    rows = [{"body": t, "is_complaint": "yes"} for t in COMPLAINTS] + [
        {"body": t, "is_complaint": "no"} for t in NOT_COMPLAINTS
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    res = CliRunner().invoke(
        model_cli,
        [
            "eval",
            "--data",
            str(data),
            "--text-column",
            "body",
            "--label-column",
            "is_complaint",
            "--positive",
            "yes",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["model"]["confusion"] == {"tn": 3, "fp": 0, "fn": 0, "tp": 3}
    assert "vader_baseline" in out


def test_eval_command_reports_missing_column(tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("message,label\nhello,0\n")
    res = CliRunner().invoke(model_cli, ["eval", "--data", str(data)])
    assert res.exit_code != 0 and "lacks column 'text'" in res.output
