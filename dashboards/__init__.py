"""Dashboards: the weekly digest (pure build, separate renderers and senders),
spike alerts and the web dashboard."""
