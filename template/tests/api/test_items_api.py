import base64
import json
import uuid
from typing import Any

import pytest
from httpx import AsyncClient, Response

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ITEMS = "/api/v1/items"
PROBLEM = "application/problem+json"
SORTS = ["name", "-name", "created_at", "-created_at"]
# Lowercase ASCII names of one length: the same order under every collation.
NAMES = ["delta", "alpha", "gamma", "bravo", "omega", "kappa", "theta"]


async def _create(client: AsyncClient, name: str, quantity: int = 0) -> dict[str, object]:
    response = await client.post(ITEMS, json={"name": name, "quantity": quantity})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_create_returns_201_with_location_of_the_new_item(client: AsyncClient) -> None:
    response = await client.post(ITEMS, json={"name": "Widget", "description": "blue"})

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Widget"
    assert body["quantity"] == 0
    assert response.headers["location"] == f"{ITEMS}/{body['id']}"
    fetched = await client.get(response.headers["location"])
    assert fetched.json() == body


async def test_duplicate_name_is_a_409_problem(client: AsyncClient) -> None:
    await _create(client, "Widget")

    response = await client.post(ITEMS, json={"name": "Widget"})

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 409
    assert "Widget" in problem["detail"]
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_invalid_body_is_a_422_problem_with_field_detail(client: AsyncClient) -> None:
    response = await client.post(ITEMS, json={"name": "", "quantity": -1, "colour": "red"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = {tuple(error["loc"]) for error in response.json()["errors"]}
    assert fields == {("body", "name"), ("body", "quantity"), ("body", "colour")}


async def test_malformed_json_is_a_422_problem(client: AsyncClient) -> None:
    response = await client.post(
        ITEMS, content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_unknown_item_is_a_404_problem(client: AsyncClient) -> None:
    missing = uuid.uuid4()

    response = await client.get(f"{ITEMS}/{missing}")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == f"Item {missing} does not exist."
    assert response.json()["instance"] == f"{ITEMS}/{missing}"


async def test_malformed_id_is_a_422_problem(client: AsyncClient) -> None:
    response = await client.get(f"{ITEMS}/not-a-uuid")

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "item_id"]


async def test_patch_updates_only_sent_fields(client: AsyncClient) -> None:
    created = await _create(client, "Widget", quantity=1)

    response = await client.patch(f"{ITEMS}/{created['id']}", json={"quantity": 9})

    assert response.status_code == 200
    assert response.json()["quantity"] == 9
    assert response.json()["name"] == "Widget"


async def test_patch_to_a_taken_name_is_409_and_null_name_is_422(client: AsyncClient) -> None:
    await _create(client, "First")
    second = await _create(client, "Second")

    conflict = await client.patch(f"{ITEMS}/{second['id']}", json={"name": "First"})
    null_name = await client.patch(f"{ITEMS}/{second['id']}", json={"name": None})

    assert conflict.status_code == 409
    assert null_name.status_code == 422


async def test_delete_is_204_then_404(client: AsyncClient) -> None:
    created = await _create(client, "Widget")

    first = await client.delete(f"{ITEMS}/{created['id']}")
    second = await client.delete(f"{ITEMS}/{created['id']}")

    assert first.status_code == 204
    assert first.content == b""
    assert second.status_code == 404


async def _list_pages(client: AsyncClient, **params: Any) -> list[list[str]]:
    """Follow `next_cursor` from the first page to the last; the names of each page."""
    pages: list[list[str]] = []
    cursor = None
    while cursor is not None or not pages:
        query = params if cursor is None else {**params, "cursor": cursor}
        response = await client.get(ITEMS, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["name"] for item in body["items"]])
        cursor = body["next_cursor"]
    return pages


def _in_order(names: list[str], sort: str) -> list[str]:
    # Items created one after another: creation order is the order of `names`.
    by_key = sorted(names) if sort.endswith("name") else list(names)
    return by_key[::-1] if sort.startswith("-") else by_key


@pytest.mark.parametrize("sort", SORTS)
async def test_paging_returns_every_item_once_in_order(client: AsyncClient, sort: str) -> None:
    for name in NAMES:
        await _create(client, name)

    pages = await _list_pages(client, limit=3, sort=sort)

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [name for page in pages for name in page] == _in_order(NAMES, sort)


async def test_a_page_carries_items_and_the_next_cursor_only(client: AsyncClient) -> None:
    created = await _create(client, "alpha")

    response = await client.get(ITEMS)

    assert response.json() == {"items": [created], "next_cursor": None}


@pytest.mark.parametrize("sort", SORTS)
async def test_rows_created_while_paging_never_repeat_or_hide_a_row(
    client: AsyncClient, sort: str
) -> None:
    for name in NAMES:
        await _create(client, name)
    seen: list[str] = []
    cursor = None
    for newcomers in (["aaaaa", "zzzzz"], ["lllll"], ["bbbbb", "yyyyy"]):
        params: dict[str, str | int] = {"limit": 2, "sort": sort}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await client.get(ITEMS, params=params)).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        # New rows sort before, between and after the ones already listed.
        for name in newcomers:
            await _create(client, name)
    rest = await _list_pages(client, limit=100, sort=sort, cursor=cursor)
    seen += [name for page in rest for name in page]

    assert len(seen) == len(set(seen)), "no row is listed twice"
    assert [name for name in seen if name in NAMES] == _in_order(NAMES, sort)


@pytest.mark.parametrize("sort", ["name", "-created_at"])
async def test_the_filter_pages_through_matches_only_ignoring_case(
    client: AsyncClient, sort: str
) -> None:
    # Distinct lowercase initials: the same name order under every collation.
    names = ["green APPLE", "apricot", "pineApple", "apple pie", "banana", "crab apple"]
    for name in names:
        await _create(client, name)

    pages = await _list_pages(client, limit=1, sort=sort, name_contains="aPPle")

    matches = ["green APPLE", "pineApple", "apple pie", "crab apple"]
    expected = sorted(matches) if sort == "name" else matches[::-1]
    assert [name for page in pages for name in page] == expected
    assert all(len(page) == 1 for page in pages)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 0},
        {"offset": 20},
        {"sort": "price"},
        {"colour": "red"},
        {"name_contains": "ab"},
    ],
)
async def test_list_rejects_unbounded_or_unknown_parameters(
    client: AsyncClient, params: dict[str, str | int]
) -> None:
    response = await client.get(ITEMS, params=params)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def _base64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _cursor(payload: object) -> str:
    # Encoded the way the service encodes cursors, around a payload it would never issue.
    return _base64(json.dumps(payload).encode())


# Fixed, so that the test ids are the same in every run.
SOME_ID = "0f3c9a52-7d1e-4b8a-9c57-2b0c6b1d9e10"


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "A" * 1025,
        "A",
        _base64(b"\xff\xfe\xfd"),
        _base64(b'["name", "x"'),
        _cursor({"sort": "name", "key": "x", "id": SOME_ID}),
        _cursor(["name", 5, SOME_ID]),
        _cursor(["name", "x", "not-a-uuid"]),
        _cursor(["name", "a\u0000b", SOME_ID]),
        _cursor(["name", "\ud800", SOME_ID]),
        _cursor(["name", "x" * 101, SOME_ID]),
        _cursor(["created_at", "2026-01-01T00:00:00", SOME_ID]),
        _cursor(["created_at", 1767225600, SOME_ID]),
        _cursor(["created_at", "9999-12-31T23:59:59-23:59", SOME_ID]),
        _cursor(["price", "x", SOME_ID]),
        _cursor([[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]),
    ],
)
async def test_a_cursor_the_service_did_not_issue_is_a_422_problem(
    client: AsyncClient, cursor: str
) -> None:
    response = await client.get(ITEMS, params={"cursor": cursor, "sort": "name"})

    assert _rejected_fields(response) == [["query", "cursor"]]


async def test_a_cursor_used_with_another_sort_is_a_422_problem(client: AsyncClient) -> None:
    for name in NAMES:
        await _create(client, name)
    first = (await client.get(ITEMS, params={"limit": 1, "sort": "name"})).json()

    response = await client.get(ITEMS, params={"sort": "-name", "cursor": first["next_cursor"]})

    assert _rejected_fields(response) == [["query", "cursor"]]
    assert "sort=name" in response.json()["errors"][0]["msg"]


# Hostile input (API-2): what the OpenAPI document forbids is a 422 problem naming the
# field, never a 500 from the database driver or a silently converted value.


def _rejected_fields(response: Response) -> list[list[str | int]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return [error["loc"] for error in response.json()["errors"]]


async def _send_raw(
    client: AsyncClient, method: str, url: str, members: dict[str, str]
) -> Response:
    # An object of raw JSON values, so that escapes such as "\ud800" and numbers such as
    # 2.0 reach the service exactly as a client wrote them.
    body = "{" + ", ".join(f'"{name}": {value}' for name, value in members.items()) + "}"
    headers = {"content-type": "application/json"}
    return await client.request(method, url, content=body.encode(), headers=headers)


@pytest.mark.parametrize("field", ["name", "description"])
async def test_nul_in_a_body_field_is_a_422_problem(client: AsyncClient, field: str) -> None:
    response = await client.post(ITEMS, json={"name": "Widget", field: "Wid\x00get"})

    assert _rejected_fields(response) == [["body", field]]


@pytest.mark.parametrize("field", ["name", "description"])
async def test_nul_in_a_patch_field_is_a_422_problem(client: AsyncClient, field: str) -> None:
    created = await _create(client, "Widget")

    response = await client.patch(f"{ITEMS}/{created['id']}", json={field: "\x00"})

    assert _rejected_fields(response) == [["body", field]]
    assert (await client.get(f"{ITEMS}/{created['id']}")).json() == created


async def test_nul_in_a_query_parameter_is_a_422_problem(client: AsyncClient) -> None:
    response = await client.get(ITEMS, params={"name_contains": "Wid\x00get"})

    assert _rejected_fields(response) == [["query", "name_contains"]]


@pytest.mark.parametrize("field", ["name", "description"])
@pytest.mark.parametrize("surrogate", ["\\ud800", "x\\udfff"])
async def test_a_lone_surrogate_is_a_422_problem(
    client: AsyncClient, field: str, surrogate: str
) -> None:
    # json.loads accepts these escapes; the text they make has no UTF-8 form to store.
    created = await _create(client, "Widget")
    value = f'"{surrogate}"'

    posted = await _send_raw(client, "POST", ITEMS, {"name": '"New"', field: value})
    patched = await _send_raw(client, "PATCH", f"{ITEMS}/{created['id']}", {field: value})

    assert _rejected_fields(posted) == [["body", field]]
    assert _rejected_fields(patched) == [["body", field]]


@pytest.mark.parametrize("quantity", ['"5"', "true", "2.5", "null", "[5]"])
async def test_quantity_must_be_a_json_integer(client: AsyncClient, quantity: str) -> None:
    created = await _create(client, "Widget")

    posted = await _send_raw(client, "POST", ITEMS, {"name": '"New"', "quantity": quantity})
    patched = await _send_raw(client, "PATCH", f"{ITEMS}/{created['id']}", {"quantity": quantity})

    assert _rejected_fields(posted) == [["body", "quantity"]]
    assert _rejected_fields(patched) == [["body", "quantity"]]


async def test_quantity_with_a_zero_fraction_is_that_integer(client: AsyncClient) -> None:
    # JSON Schema counts 2.0 as an integer, so the document allows it.
    response = await _send_raw(client, "POST", ITEMS, {"name": '"Widget"', "quantity": "2.0"})

    assert response.status_code == 201
    assert response.json()["quantity"] == 2


@pytest.mark.parametrize("name", [" Widget", "Widget ", "Widget\n", "   ", "\u3000"])
async def test_padded_or_blank_names_are_rejected_not_stripped(
    client: AsyncClient, name: str
) -> None:
    created = await _create(client, "Widget")

    posted = await client.post(ITEMS, json={"name": name})
    patched = await client.patch(f"{ITEMS}/{created['id']}", json={"name": name})

    assert _rejected_fields(posted) == [["body", "name"]]
    assert _rejected_fields(patched) == [["body", "name"]]


async def test_patch_rejects_null_quantity_and_clears_the_description_with_null(
    client: AsyncClient,
) -> None:
    response = await client.post(ITEMS, json={"name": "Widget", "description": "blue"})
    url = f"{ITEMS}/{response.json()['id']}"

    null_quantity = await client.patch(url, json={"quantity": None})
    cleared = await client.patch(url, json={"description": None})

    assert _rejected_fields(null_quantity) == [["body", "quantity"]]
    assert cleared.status_code == 200
    assert cleared.json()["description"] is None


@pytest.mark.parametrize("limit", [" 5", "5.0", "1_0", "+5"])
async def test_query_integers_are_digits_only(client: AsyncClient, limit: str) -> None:
    response = await client.get(ITEMS, params={"limit": limit})

    assert _rejected_fields(response) == [["query", "limit"]]
