"""Turning form fields into the API's input models, with the API's error messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from hangar.api.errors import validation_error
from hangar.errors import ValidationFailed
from hangar.tenancy.matrix import Role

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], **fields: Any) -> M:
    """Validate form values with ``model``; failures name each field like the API does."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise validation_error(RequestValidationError(exc.errors())) from None


def blank_to_none(raw: str) -> str | None:
    """An empty box means "not set" (``None``); anything else is left for the model to judge."""
    return raw.strip() or None


def parse_roles(values: Iterable[str]) -> list[Role]:
    """Ticked role boxes as roles; the services reject an empty list with their own message."""
    roles = []
    for value in values:
        try:
            roles.append(Role(value))
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise ValidationFailed.field(
                "roles", f"'{value}' is not a workspace role; pick from {allowed}"
            ) from None
    return roles
