"""Logging set-up with secret redaction: no configured secret ever reaches a log line."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable

from gripewatch.terminal import visible

_TOKEN_SHAPES = re.compile(r"\b(xox[abpr]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}|Bearer\s+[A-Za-z0-9._~+/=-]{8,})")


class Redactor(logging.Filter):
    """Replaces known secret values (and anything shaped like a Slack/Bearer token) with ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return _TOKEN_SHAPES.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(msg), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class TextFormatter(logging.Formatter):
    """``LEVEL logger: message``, safe on a terminal and in a log file.

    Messages quote what platforms and customers sent: control characters are shown as symbols
    (:func:`gripewatch.terminal.visible`) and every line after the first is indented, so a text
    holding a newline cannot forge a log line of its own.
    """

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record)).replace("\n", "\n    ")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: int = logging.WARNING, secrets: Iterable[str] = (), fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(Redactor(secrets))
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_gripewatch", False):
            root.removeHandler(h)
    handler._gripewatch = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
