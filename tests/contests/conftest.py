"""Fixtures of the contest tests: the spine's store, CLI runner and store digest."""

from tests.spine.conftest import cli, db  # noqa: F401
