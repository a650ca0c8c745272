"""Pure analysis of mention text: no database, no network.

The pipeline calls one function, :func:`gripewatch.analysis.score.analyse_batch`, with the texts
of a batch and an :class:`gripewatch.analysis.settings.AnalysisSettings`; it gets one
:class:`gripewatch.analysis.score.Analysis` per text back, in order.

Modules: ``text`` (normalisation), ``sentiment`` (VADER), ``features``/``model``/``complaint``
(the trained complaint classifier and its artifact), ``rules`` (escalation triggers), ``topics``,
``noise`` (spam and near-duplicates), ``score`` (all of it for a batch), ``settings``; training
and evaluation in ``train``, ``dataset`` and ``metrics``.

The names below load on first use, so reading the configuration does not load numpy or VADER.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gripewatch.analysis.settings import AnalysisSettings

if TYPE_CHECKING:
    from gripewatch.analysis.score import Analysis, analyse, analyse_batch

__all__ = ["Analysis", "AnalysisSettings", "analyse", "analyse_batch"]


def __getattr__(name: str) -> Any:
    if name in ("Analysis", "analyse", "analyse_batch"):
        from gripewatch.analysis import score

        return getattr(score, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
