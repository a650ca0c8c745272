"""Dashboards: what managers and leads read.

``digest`` (the pure ``build_digest`` over plain rows), ``load`` (those rows from the database),
``period``, ``problems`` (recurring problems), ``render`` (HTML, Slack blocks, text) and ``send``
(Slack, e-mail, file); ``spikes`` (complaint spikes and their alerts); ``web``/``auth``/``queue``/
``actions``/``charts`` and ``templates/`` (the Starlette dashboard).
"""
