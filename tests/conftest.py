import os

from hypothesis import HealthCheck, settings

# CI runs every property with hundreds of examples; `HYPOTHESIS_PROFILE=dev` is quicker locally.
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["kafka_broker"]  # the lazy, session-scoped Tansu broker fixture (tests/kafka_broker.py)
