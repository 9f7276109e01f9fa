import os

from hypothesis import HealthCheck, settings

# CI runs every property with hundreds of examples, the same ones on every run (derandomized: a red
# CI is a change's doing, not a draw's); `HYPOTHESIS_PROFILE=dev` is quicker locally, and
# `HYPOTHESIS_PROFILE=explore` draws new examples on every run, thousands of them.
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True,
    derandomize=True,
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("explore", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["kafka_broker"]  # the lazy, session-scoped Tansu broker fixture (tests/kafka_broker.py)
