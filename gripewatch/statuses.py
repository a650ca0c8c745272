"""A case's statuses; it is open while someone owes the customer an answer or a resolution."""

OPEN_STATUSES = ("new", "acknowledged", "waiting", "escalated")
STATUSES = (*OPEN_STATUSES, "resolved", "closed")
