"""What runs unattended: the APScheduler daemon and its jobs.

``scheduler`` (the daemon: one APScheduler 3 job per source and per periodic task), ``service``
(``serve``: the daemon plus Slack delivery and the health endpoint), ``jobs`` (one pass over a
source, alert delivery, ``run-once``), ``leases`` (database leases so two processes never run one
job), ``runlog`` (job history), ``polling`` (budget-based intervals), ``retention`` (forgetting old
data), ``metrics`` (``/healthz`` and ``/metrics``), ``ops`` (the snapshot ``status`` prints) and
``logs`` (text/JSON log lines with secrets redacted).

Imports run downward only: runtime uses the domain modules at the package root and the feature
packages (collectors, analysis, alerts, dashboards); nothing below imports runtime back, except
through function-level imports at the edges.
"""
