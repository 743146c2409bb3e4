"""Suite-wide settings: the analysis results cache lives in a fresh directory for each test run."""

from __future__ import annotations

import os
import tempfile


def pytest_configure(config: object) -> None:
    os.environ.setdefault("VOTEAUDIT_CACHE", tempfile.mkdtemp(prefix="voteaudit-cache-"))
