"""Deeply nested JSON never reaches a parser of the coordinator: 422 naming the limit, and the
process lives on (json's C decoder would overflow the stack under eth's recursion limit)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fedledger.encoding import MAX_JSON_DEPTH

pytestmark = pytest.mark.adversarial

DEEP = "[" * 200_000 + "]" * 200_000


@pytest.fixture(scope="module")
def client(world) -> Iterator[TestClient]:
    with TestClient(world.coordinator_app, raise_server_exceptions=False) as c:
        yield c


def test_deeply_nested_body_is_422_naming_the_depth_limit(world, client) -> None:
    round_id = world.sim.coordinator.round_id
    deep = "[" * 20_000 + "]" * 20_000  # inside the body size limit

    response = client.post(
        f"/v1/rounds/{round_id}/keys",
        content=deep,
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422
    assert f"more than {MAX_JSON_DEPTH} levels" in response.json()["detail"]
    assert client.get("/v1/info").status_code == 200  # still serving


def test_deeply_nested_envelope_header_is_422(world, client) -> None:
    response = client.put(
        "/blobs/" + "ab" * 32, content=b"x", headers={"x-fedledger-envelope": DEEP}
    )

    assert response.status_code == 422
    assert response.json()["detail"].startswith("X-Fedledger-Envelope header: JSON nested")


def test_body_just_inside_the_depth_limit_reaches_the_route(world, client) -> None:
    round_id = world.sim.coordinator.round_id
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH

    response = client.post(
        f"/v1/rounds/{round_id}/keys",
        content=nested,
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422
    assert "levels" not in str(response.json()["detail"])  # the route's own validation
