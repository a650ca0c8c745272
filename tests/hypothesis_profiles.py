"""Hypothesis profiles, chosen by ``HYPOTHESIS_PROFILE`` (default ``ci``).

``ci``: 300 examples per property, the bounded run of ``.ci/run`` and everyday test runs.
``long``: 20,000 examples per property, run by hand before a release
(``HYPOTHESIS_PROFILE=long python -m pytest tests/test_dashboard_properties.py``).
No deadline in either: the machine is shared and a slow example is not a failure.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=300, deadline=None)
settings.register_profile("long", max_examples=20_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
