"""Cases, the alert outbox and the notifiers that deliver alerts to people."""
