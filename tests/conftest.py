"""Test configuration: reproducible Hypothesis runs in CI.

Locally Hypothesis explores new examples on every run; in CI (CI=true) it uses a
fixed derandomized sequence so that a submission's result does not depend on luck.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
