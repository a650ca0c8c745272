"""The two-tier cascade: praise is not a complaint, other languages go to people, the encoder artifact."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from dataclasses import replace
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest

from gripewatch.analysis import analyse, analyse_batch, complaint
from gripewatch.analysis import encoder as enc_mod
from gripewatch.analysis.features import DENSE_NAMES, extract
from gripewatch.analysis.sentiment import polarity

ROOT = Path(__file__).resolve().parents[1]

# the three from issue 15, then our own
PRAISE = [
    "Wile E. Coyote really said 'ACME or nothing' and honestly... respect",
    "Acme Cloud is killing it",
    "already thinking about my next one",
    "Just got my Acme blender and I'm already in love",
    "@AcmeHelp sorted my refund in ten minutes, respect",
    "Acme's new update is killing it, the app has never been faster",
    "Haven't found a single bug yet, great work @AcmeDev",
    "Three years with my Acme bike and it still rides like new",
    "Acme support is crushing it today, nailed it",
    "No complaints at all, Acme never disappoints",
    "Acme just keeps getting better, already ordered another",
    "my acme drill hasn't missed a beat in five years, respect",
    "The Acme store staff went above and beyond, huge props",
    "not gonna lie the new Acme phone is insane, zero issues so far",
]
COMPLAINTS = [
    "@AcmeHelp my parcel never arrived and nobody answers",
    "still waiting for my refund, third time asking",
    "Already paid twice and still no order, sort it out @AcmeHelp",
    "@AcmeAir the flight is delayed again and not yet a word from you",
]


@pytest.mark.parametrize("text", PRAISE)
def test_praise_is_not_a_complaint(text):
    r = analyse(text)
    assert not r.is_complaint, (r.complaint_probability, r.reasons)
    assert r.severity == "low"


def test_complaints_worded_with_already_and_yet_are_still_complaints():
    assert all(r.is_complaint for r in analyse_batch(COMPLAINTS)), [
        (r.complaint_probability, r.reasons) for r in analyse_batch(COMPLAINTS)
    ]


def _cues(text: str) -> dict[str, float]:
    return dict(zip(DENSE_NAMES, extract(text, polarity([text])[0]).dense, strict=True))


def test_cue_lexicon_does_not_fire_on_praise():
    assert _cues("already thinking about my next one")["cue:still_again"] == 0
    assert _cues("no crashes yet, loving it")["cue:still_again"] == 0
    idiom = _cues("No complaints at all, Acme never disappoints")
    assert idiom["cue:negation"] == 0 and idiom["cue:thanks"] > 0
    assert _cues("the team is killing it")["vader:compound"] > 0  # VADER alone reads "killing" as -3.4
    assert _cues("respect to the Acme crew")["cue:thanks"] > 0
    # the complaint uses of the same words still count
    assert _cues("already paid twice and still nothing")["cue:still_again"] > 0
    assert _cues("not yet arrived")["cue:still_again"] > 0
    assert _cues("your update killed it, phone is dead")["vader:compound"] < 0


FOREIGN = {
    "de": "@AcmeDE Mein Paket ist seit zwei Wochen nicht angekommen und niemand antwortet, eine Frechheit",
    "fr": "Ma commande n'est jamais arrivée et le service client ne répond pas. Inadmissible @AcmeFR",
    "es": "Mi pedido nunca llegó y nadie contesta, estoy harto de esperar @AcmeES",
}


def test_other_languages_are_marked_for_review_not_scored_as_english_nor_dropped():
    texts = list(FOREIGN.values()) + ["@AcmeHelp my parcel never arrived"]
    res = analyse_batch(texts)
    assert len(res) == len(texts)
    for lang, r in zip(FOREIGN, res, strict=False):
        assert r.language == lang and r.needs_review and r.tier == "review"
        assert r.complaint_probability is None  # not an English score
        assert r.is_complaint  # so a case opens and a person reads it
        assert any(lang in reason and "needs review" in reason for reason in r.reasons)
    assert res[-1].language == "en" and not res[-1].needs_review and res[-1].complaint_probability is not None


def test_noise_in_another_language_is_still_noise():
    r = analyse("RT @AcmeDE: Mein Paket ist seit zwei Wochen nicht angekommen und niemand antwortet")
    assert r.noise == "retweet" and not r.is_complaint and not r.needs_review


def test_reasons_say_which_tier_decided():
    tier = enc_mod.default_tier()
    texts = ["@AcmeHelp my parcel never arrived and nobody answers", "Happy birthday to my best friend"]
    wide = replace(tier, band_low=0.0, band_high=1.0)  # every text in the band
    vaders = polarity(texts)
    fast = complaint.score(texts, vaders, rescore=[False, False])
    both = complaint.score(texts, vaders, encoder=wide)
    assert [s.tier for s in fast] == ["fast", "fast"]
    assert [s.tier for s in both] == ["encoder", "encoder"]
    assert [s.fast_probability for s in both] == [s.probability for s in fast]
    assert both[0].probability != fast[0].probability
    assert complaint.tier_reason(both[0]).startswith("decided by: sentence encoder (fast model 0.")
    assert complaint.tier_reason(fast[0]) == "decided by: fast model"
    assert all(any(x.startswith("decided by: ") for x in r.reasons) for r in analyse_batch(texts))


def test_encoder_blend_keeps_the_decision_threshold():
    tier = replace(enc_mod.default_tier(), weight=0.0)  # a weight of 0 leaves the fast probability unchanged
    p = [0.2, 0.41, 0.7]
    assert np.allclose(tier.rescore(["a b c", "d e f", "g h i"], p, 0.41), p, atol=1e-9)


def test_encoder_embeds_meaningfully():
    emb = enc_mod.default_tier().embedder.embed(
        ["my parcel never arrived", "my package did not arrive", "what a beautiful sunny day", ""]
    )
    assert emb.shape == (4, 384)
    assert np.allclose(np.linalg.norm(emb[:3], axis=1), 1.0, atol=1e-3)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2


def test_encoder_artifact_is_plain_data_small_and_hashed():
    meta = json.loads((enc_mod.ARTIFACT_DIR / enc_mod.HEAD_NAME).read_text())
    assert (enc_mod.ARTIFACT_DIR / enc_mod.ONNX_NAME).stat().st_size <= 30 * 1024 * 1024
    assert meta["onnx_sha256"] == enc_mod.sha256_of(enc_mod.ARTIFACT_DIR / enc_mod.ONNX_NAME)
    assert meta["tokenizer_sha256"] == enc_mod.sha256_of(enc_mod.ARTIFACT_DIR / enc_mod.TOKENIZER_NAME)
    assert len(meta["training_data"]["sha256"]) == 64
    for scheme in ("cv", "lodo"):
        assert {"model", "encoder", "cascade", "vader_baseline"} <= set(meta[scheme])
    assert meta["cv"]["cascade"]["macro_f1"] >= meta["cv"]["model"]["macro_f1"]
    assert 0 < meta["band"][0] < meta["fast_threshold"] < meta["band"][1] < 1


def test_a_tampered_encoder_graph_is_refused(tmp_path):
    for name in (enc_mod.ONNX_NAME, enc_mod.TOKENIZER_NAME, enc_mod.HEAD_NAME):
        (tmp_path / name).write_bytes((enc_mod.ARTIFACT_DIR / name).read_bytes())
    enc_mod.load(tmp_path)  # an intact copy loads
    with open(tmp_path / enc_mod.ONNX_NAME, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(enc_mod.ArtifactError, match="SHA-256"):
        enc_mod.load(tmp_path)


def test_the_artifacts_are_package_data():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = conf["tool"]["setuptools"]["package-data"]["gripewatch.analysis"]
    deps = " ".join(conf["project"]["dependencies"])
    for name in (enc_mod.ONNX_NAME, enc_mod.TOKENIZER_NAME, enc_mod.HEAD_NAME, "complaint_model.npz"):
        assert any(fnmatch(name, p) for p in patterns), name
    for dep in ("onnxruntime", "tokenizers", "py3langid"):
        assert dep in deps
    assert "torch" not in deps and "scikit-learn" not in deps


def test_scoring_needs_neither_torch_nor_scikit_learn():
    code = (
        "import sys\n"
        "from gripewatch.analysis import analyse_batch\n"
        "from dataclasses import replace\n"
        "from gripewatch.analysis import complaint, encoder\n"
        "from gripewatch.analysis.sentiment import polarity\n"
        "t = ['@AcmeHelp my parcel never arrived']\n"
        "wide = replace(encoder.default_tier(), band_low=0.0, band_high=1.0)\n"
        "assert complaint.score(t, polarity(t), encoder=wide)[0].tier == 'encoder'\n"
        "analyse_batch(t + ['Mein Paket ist nicht angekommen, niemand antwortet'])\n"
        "bad = [m for m in ('torch', 'sklearn', 'transformers', 'scipy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def _labelled(tmp_path: Path) -> Path:
    """A small labelled file in three domains (complaints and other posts in each)."""
    bad = ["my {} never arrived", "still waiting for my {} refund", "the {} broke after a day, useless",
           "charged twice for the {} and nobody answers", "your {} app keeps crashing again"]  # fmt: skip
    good = ["loving my new {}", "thanks for the quick {} delivery", "what time does the {} shop open?",
            "great {} deal today", "just ordered another {}"]  # fmt: skip
    rows = []
    for dom, things in {"tech": ["phone", "laptop", "tablet"], "food": ["pizza", "burger", "salad"],
                        "travel": ["ticket", "flight", "bag"]}.items():  # fmt: skip
        for thing in things:
            rows += [{"text": f"@Brand {t.format(thing)}", "label": 1, "domain": dom} for t in bad]
            rows += [{"text": t.format(thing), "label": 0, "domain": dom} for t in good]
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return data


def test_eval_command_reports_each_tier_the_cascade_and_vader_by_cv_and_lodo(tmp_path):
    from click.testing import CliRunner

    from gripewatch.cli.model import model as model_cli

    data = _labelled(tmp_path)
    res = CliRunner().invoke(model_cli, ["eval", "--data", str(data), "--cv", "3", "--lodo", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["cv"]["scheme"] == "stratified 3-fold" and out["lodo"]["scheme"] == "leave-one-domain-out"
    for scheme in ("cv", "lodo"):
        for tier in ("model", "encoder", "cascade", "cascade_with_rules", "vader_baseline"):
            assert out[scheme][tier]["n"] == 90, (scheme, tier)
        assert 0.0 <= out[scheme]["coverage"] <= 1.0
    assert set(out["lodo"]["domains"]) == {"tech", "food", "travel", "all"}
    assert 0.0 <= out["lodo"]["domains"]["all"]["brier_cascade"] <= 1.0
    table = CliRunner().invoke(model_cli, ["eval", "--data", str(data), "--cv", "3", "--lodo"])
    assert table.exit_code == 0, table.output
    for label in ("fast model", "encoder (alone)", "cascade", "VADER only", "leave-one-domain-out"):
        assert label in table.output
