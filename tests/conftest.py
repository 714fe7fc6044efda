"""Shared settings of the test suite.

Hypothesis runs under a registered profile so that every run, local or CI, draws the same
examples (``derandomize=True``, no example database) and the suite stays fast. For a long
random search, run ``HYPOTHESIS_PROFILE=thorough nox -s tests``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile(
    "gradwatch", max_examples=12, deadline=None, derandomize=True, database=None, print_blob=True
)
settings.register_profile(
    "thorough", max_examples=400, deadline=None, derandomize=False, database=None, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gradwatch"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed, so each test sees the same data."""
    return np.random.default_rng(20240601)
