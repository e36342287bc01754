"""Load test of the items API (QA-3): the flows a client of the example resource runs.

Run it against a running service: `make loadtest` (headless, a summary at the end), or
`uv run locust` for the web UI on http://127.0.0.1:8089. Each simulated user reads most of
the time (a page of the list, or one item) and now and then creates, changes or deletes
an item of its own, with a think time between requests. Creates and deletes balance, so a
long run leaves the table about as it found it. How users authenticate: credentials.py.
"""

import random
import sys
import uuid
from http import HTTPStatus

from locust import FastHttpUser, between, events, task

from loadtest.credentials import Credentials, credentials_from_environment

ITEMS = "/api/v1/items"
# Every item's URL is counted under this one name in the statistics.
ITEM = "/api/v1/items/[id]"
# The names of the items a run creates start with this, so they are easy to find.
NAME_PREFIX = "load-"
SORTS = ("name", "-name", "created_at", "-created_at")
# The share of list requests that filter by name (the trigram index's work).
FILTERED_LISTS = 0.25
# Items a user keeps track of: enough to spread its reads, and its memory stays flat.
MAX_OWN_ITEMS = 20


def _refuse_to_start_without_credentials(**_: object) -> None:
    """Stop at once, naming what is missing, instead of failing every request."""
    try:
        credentials_from_environment()
    except ValueError as error:
        sys.exit(f"The load test cannot start: {error}")


# Locust's EventHook carries no type annotations, hence the one ignore.
events.init.add_listener(_refuse_to_start_without_credentials)  # type: ignore[no-untyped-call]


class ItemsClient(FastHttpUser):
    """A client of the items API: mostly reads, a write now and then."""

    # Think time between two requests of one user, as a person or a batch job would pause.
    wait_time = between(0.2, 1.0)
    credentials: Credentials
    own_items: list[str]

    def on_start(self) -> None:
        """Authenticate (when the service asks for it) and create a first item of its own."""
        self.credentials = credentials_from_environment()
        self.own_items = []
        self.create_item()

    def _headers(self) -> dict[str, str]:
        return self.credentials.headers(self.client)

    @task(10)
    def list_items(self) -> None:
        """A first page of the list, in any sort order; one list in four filters by name."""
        query = {"limit": "20", "sort": random.choice(SORTS)}
        if random.random() < FILTERED_LISTS:
            query["name_contains"] = NAME_PREFIX
        self.client.get(ITEMS, params=query, headers=self._headers())

    @task(6)
    def get_item(self) -> None:
        """One item of its own (other users may delete theirs at any moment)."""
        if not self.own_items:
            self.create_item()
            return
        item_id = random.choice(self.own_items)
        self.client.get(f"{ITEMS}/{item_id}", name=ITEM, headers=self._headers())

    @task(2)
    def create_item(self) -> None:
        """A new item; the Idempotency-Key makes a retry of it safe, as clients should."""
        body = {
            "name": f"{NAME_PREFIX}{uuid.uuid4().hex}",
            "description": "Created by the load test.",
            "quantity": random.randint(0, 1000),
        }
        headers = {**self._headers(), "Idempotency-Key": str(uuid.uuid4())}
        response = self.client.post(ITEMS, json=body, headers=headers)
        if response.status_code == HTTPStatus.CREATED:
            self.own_items.append(str(response.json()["id"]))
            del self.own_items[:-MAX_OWN_ITEMS]

    @task(2)
    def update_item(self) -> None:
        """A change of one field of an item of its own."""
        if not self.own_items:
            self.create_item()
            return
        item_id = random.choice(self.own_items)
        self.client.patch(
            f"{ITEMS}/{item_id}",
            json={"quantity": random.randint(0, 1000)},
            name=ITEM,
            headers=self._headers(),
        )

    @task(2)
    def delete_item(self) -> None:
        """The deletion of an item of its own."""
        if not self.own_items:
            return
        item_id = self.own_items.pop(random.randrange(len(self.own_items)))
        self.client.delete(f"{ITEMS}/{item_id}", name=ITEM, headers=self._headers())
