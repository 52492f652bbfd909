"""Refusals and the one error body: what every page, form and API answer says when the rules
say no.

A service refuses with a subclass of `Refused` (`code` for programs, `message`, translated, for
people, `details` per field); the API answers it with `error_body`, the shape of every error
the portal gives: `{"error": {"code", "message", "details"}}`.
"""

from collections.abc import Mapping
from typing import Any


def error_body(code: str, message: object, details: Any = None) -> dict[str, Any]:
    """`{"error": {"code", "message", "details"}}`: the body of every error answer."""
    return {
        "error": {
            "code": code,
            "message": str(message),
            "details": {} if details is None else details,
        }
    }


class Refused(Exception):
    """An action the rules refuse: `code` for programs, `message` (translated) for people,
    `details` (field -> messages, or other facts) and `field` (the form field at fault)."""

    status = 409

    def __init__(
        self,
        code: str,
        message: object,
        details: Mapping[str, Any] | None = None,
        *,
        field: str | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.field = field

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)
