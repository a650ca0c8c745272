"""Cases, the alert outbox and the notifiers that deliver alerts to people.

``cases`` (open, merge, route), ``assign`` (bounded load), ``priority``, ``sla`` (timers,
reminders, escalation, follow-up), ``hours`` (working hours), ``customers`` (identities and
value), ``actions`` (what a button does), ``outbox`` (durable delivery), ``notify``/``console``/
``slack`` (notifiers), ``blocks``/``card`` (what a case looks like in Slack), ``reply`` (the
suggested reply), ``guards`` (promise and privacy checks of a reply), ``answer`` (posting a
staff member's reply through the outbox), ``reply_slack`` (the Reply modal), ``bolt_app`` (the
Slack app).
"""

# What staff can do to a case (Slack buttons, ``gripewatch cases act``, the dashboard).
ACTIONS = ("acknowledge", "assign_me", "replied", "resolve", "escalate", "not_complaint")
