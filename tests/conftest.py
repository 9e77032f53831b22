import os

from hypothesis import HealthCheck, settings

# fast by default; CI (HYPOTHESIS_PROFILE=ci) draws more examples
settings.register_profile("default", max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
