"""Hypothesis settings for the whole suite.

Under CI (``CI`` set) Hypothesis loads its own derandomized "ci" profile: no deadline, and no
health check for slow input generation. A developer's run gets the same two allowances (the
machine may be busy: a test must not fail because it is slow), with random examples as usual."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("busy-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow])
if not os.environ.get("CI"):
    settings.load_profile("busy-machine")
