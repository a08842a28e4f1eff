"""Dataverse-shaped errors: ``{"error": {"code": "0x...", "message": "..."}}`` with the documented HTTP status."""

from __future__ import annotations

from .httputil import Headers, Response, json_response

# Hex codes as the Web API returns them (see "Web service error codes" in the Dataverse docs).
OBJECT_DOES_NOT_EXIST = "0x80040217"
INVALID_ARGUMENT = "0x80040203"
DUPLICATE_RECORD = "0x80040237"
ODATA_PARSE = "0x80060888"  # bad URL, query option or payload, reported by the OData layer
UNEXPECTED = "0x80040216"
# Reported with every 401 (missing, expired, foreign or tampered token); clients should rely on the status.
UNAUTHORIZED = "0x80072560"
LIMIT_REQUESTS = "0x80072322"
LIMIT_EXECUTION_TIME = "0x80072321"
LIMIT_CONCURRENCY = "0x80072326"


class ODataError(Exception):
    """An error the Web API reports to the caller; raising it aborts the current operation."""

    def __init__(self, status: int, code: str, message: str, headers: Headers | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or Headers()

    def to_response(self) -> Response:
        return json_response(self.status, {"error": {"code": self.code, "message": self.message}},
                             self.headers.copy())


def bad_request(message: str, code: str = ODATA_PARSE) -> ODataError:
    return ODataError(400, code, message)


def not_found(logical_name: str, record_id: str) -> ODataError:
    return ODataError(404, OBJECT_DOES_NOT_EXIST, f"{logical_name} With Id = {record_id} Does Not Exist")


def duplicate_record() -> ODataError:
    """What Dataverse answers when a write would make a second record with the same key: a create (``POST`` with
    a key, ``PATCH`` with ``If-None-Match: *``) of an existing id, or an association that already exists."""
    return ODataError(412, DUPLICATE_RECORD, "A record with matching key values already exists.")


def invalid_argument(message: str) -> ODataError:
    return ODataError(400, INVALID_ARGUMENT, message)


def resource_not_found(segment: str) -> ODataError:
    return ODataError(404, ODATA_PARSE, f"Resource not found for the segment '{segment}'.")


def method_not_allowed(method: str, target: str) -> ODataError:
    return ODataError(405, ODATA_PARSE, f"The HTTP method '{method}' is not allowed for '{target}'.")


def not_implemented(feature: str) -> ODataError:
    """A real Dataverse feature the local emulator does not provide: fail loudly rather than answer wrongly."""
    return ODataError(501, ODATA_PARSE, f"{feature} is not supported by the local Dataverse emulator.")
