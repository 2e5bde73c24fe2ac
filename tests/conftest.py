"""Test configuration: reproducible Hypothesis runs in CI, and shared fixtures.

Locally Hypothesis explores new examples on every run; in CI (CI=true) it uses a
fixed derandomized sequence so that a submission's result does not depend on luck.
"""

import os

import pytest
from hypothesis import settings

import agents.base

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(params=["whole table", "a town a piece"])
def pieces(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Per-firm work on the whole firm table, or cut into pieces of one town.

    `agents.base.blocks` cuts the table into pieces of whole town blocks; on the
    hand-built world (4 slots a town) a piece of 4 slots is one town.
    """
    if request.param == "a town a piece":
        monkeypatch.setattr(agents.base, "BLOCK_SLOTS", 4)
    return request.param
