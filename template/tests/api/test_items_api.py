import uuid

import pytest
from httpx import AsyncClient, Response

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

ITEMS = "/api/v1/items"
PROBLEM = "application/problem+json"


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


async def test_list_paginates_filters_and_sorts(client: AsyncClient) -> None:
    for name in ["delta", "alpha", "charlie", "bravo", "alphabet"]:
        await _create(client, name)

    response = await client.get(
        ITEMS, params={"limit": 2, "offset": 1, "sort": "name", "name_contains": "a"}
    )

    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 5
    assert [item["name"] for item in page["items"]] == ["alphabet", "bravo"]
    assert (page["limit"], page["offset"]) == (2, 1)


@pytest.mark.parametrize(
    "params",
    [{"limit": 101}, {"limit": 0}, {"offset": -1}, {"sort": "price"}, {"colour": "red"}],
)
async def test_list_rejects_unbounded_or_unknown_parameters(
    client: AsyncClient, params: dict[str, str | int]
) -> None:
    response = await client.get(ITEMS, params=params)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


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
