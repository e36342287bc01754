"""Idempotency-Key on POST through HTTP (API-6); concurrency: tests/integration."""

import uuid

import pytest
from httpx import AsyncClient

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ITEMS = "/api/v1/items"


async def test_a_retry_returns_the_first_response_and_creates_nothing(
    client: AsyncClient,
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = await client.post(ITEMS, json={"name": "Widget", "quantity": 2}, headers=key)
    # The same request, spelled differently: key order and spacing do not matter.
    retry = await client.post(
        ITEMS,
        content=b'{ "quantity": 2,  "name": "Widget" }',
        headers={**key, "Content-Type": "application/json"},
    )

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    listed = await client.get(ITEMS, params={"name_contains": "Widget"})
    assert [item["id"] for item in listed.json()["items"]] == [first.json()["id"]]


async def test_the_same_key_with_another_body_is_a_422_problem(client: AsyncClient) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    await client.post(ITEMS, json={"name": "Widget"}, headers=key)

    response = await client.post(ITEMS, json={"name": "Gadget"}, headers=key)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "already used for a different request" in response.json()["detail"]
    listed = await client.get(ITEMS, params={"name_contains": "Gadget"})
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "with space", "caf\u00e9"],
    ids=["empty", "too long", "space", "non-ASCII"],
)
async def test_a_malformed_key_is_a_422_problem(client: AsyncClient, key: str) -> None:
    response = await client.post(
        ITEMS, json={"name": "Widget"}, headers={b"Idempotency-Key": key.encode()}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_a_replay_survives_the_deletion_of_what_it_created(client: AsyncClient) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(ITEMS, json={"name": "Widget"}, headers=key)
    await client.delete(first.headers["location"])

    retry = await client.post(ITEMS, json={"name": "Widget"}, headers=key)

    assert retry.status_code == 201
    assert retry.content == first.content
    assert (await client.get(first.headers["location"])).status_code == 404
