"""Property-based API testing: schemathesis drives every operation of the OpenAPI spec; no 5xx allowed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis")


def test_no_server_error(client, tokens) -> None:
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    headers = {"Authorization": f"Bearer {tokens['root']}"}   # an admin may call every operation
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        run()
