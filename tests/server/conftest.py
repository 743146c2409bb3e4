"""Server fixtures: a PostgreSQL store in a fresh random schema (dropped after) with a small election."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_data import load_election, pg_schema_url


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    gen = pg_schema_url()
    url = next(gen)
    load_election(url, tmp_path)
    yield url
    next(gen, None)


@pytest.fixture
def make_client(pg_url: str):
    """A TestClient factory for the app over ``pg_url`` (worker thread off: tests run it explicitly)."""
    from fastapi.testclient import TestClient

    from voteaudit.server.app import create_app
    from voteaudit.server.config import Settings

    clients = []

    def make(**overrides) -> TestClient:
        settings = Settings(db=pg_url, worker=False, refresh=0.2, **overrides)
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def tokens(pg_url: str) -> dict[str, str]:
    from voteaudit.server.db import connect, ensure_schema
    from voteaudit.server.users import add_user

    ensure_schema(pg_url)
    out = {}
    with connect(pg_url) as conn:
        for name, role in (("ana", "observer"), ("bo", "observer"), ("rev", "reviewer"), ("root", "admin")):
            out[name] = add_user(conn, name, role)[1]
    return out
