"""Pure analysis of mention text: no database, no network.

The pipeline calls one function, :func:`analysis.score.analyse_batch`, with the
texts of a batch and an :class:`analysis.score.AnalysisSettings`; it gets one
:class:`analysis.score.Analysis` per text back, in order.
"""

from analysis.score import Analysis, AnalysisSettings, analyse, analyse_batch

__all__ = ["Analysis", "AnalysisSettings", "analyse", "analyse_batch"]
