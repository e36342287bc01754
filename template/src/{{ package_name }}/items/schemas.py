"""Request and response models of the items API (validated at the boundary, API-2)."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_PAGE_SIZE = 100
MAX_OFFSET = 100_000


class ItemSort(StrEnum):
    """Sort orders of the item list; a leading '-' means descending."""

    NAME = "name"
    NAME_DESC = "-name"
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"


class ItemCreate(BaseModel):
    """Fields a client may set when creating an item; unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, examples=["Blue widget"])
    description: str | None = Field(default=None, max_length=1000)
    quantity: int = Field(default=0, ge=0, le=1_000_000)


class ItemUpdate(BaseModel):
    """Partial update: only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    quantity: int | None = Field(default=None, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> Self:
        nulled = [
            field
            for field in ("name", "quantity")
            if field in self.model_fields_set and getattr(self, field) is None
        ]
        if nulled:
            msg = f"{', '.join(nulled)} cannot be null"
            raise ValueError(msg)
        return self


class ItemRead(BaseModel):
    """An item as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    quantity: int
    created_at: datetime
    updated_at: datetime


class ItemListParams(BaseModel):
    """Query parameters of the item list: bounded pagination, one filter, sorting (API-5)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    name_contains: str | None = Field(default=None, min_length=1, max_length=100)
    sort: ItemSort = ItemSort.CREATED_AT_DESC


class ItemPage(BaseModel):
    """One page of items and the total number matching the filter."""

    items: list[ItemRead]
    total: int
    limit: int
    offset: int
