"""Errors as Microsoft Graph and the Microsoft identity platform answer them.

Graph: ``{"error": {"code": ..., "message": ..., "innerError": {"date", "request-id", "client-request-id"}}}``.
Sign-in (OAuth2): ``{"error": ..., "error_description": "AADSTSnnnn: ...", "error_codes": [n], ...}``.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any


class GraphError(Exception):
    """A Graph error answer: HTTP ``status`` with ``code``/``message`` in Graph's error shape."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


def error_body(code: str, message: str, request_id: str, client_request_id: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "request-id": request_id,
        "client-request-id": client_request_id or request_id}}}


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def unknown_property(name: str, type_name: str = "microsoft.graph.contact") -> GraphError:
    return GraphError(400, "RequestBodyRead", f"The property '{name}' does not exist on type '{type_name}'. Make "
                      "sure to only use property names that are defined by the type or mark the type as open type.")


def wrong_type(expected: str = "Edm.String") -> GraphError:
    return GraphError(400, "RequestBodyRead", f"Cannot convert a primitive value to the expected type '{expected}'. "
                      "See the inner exception for more details.")


class OAuthError(Exception):
    """An answer of the token or device-code endpoint: ``error`` plus an AADSTS-numbered description."""

    def __init__(self, status: int, error: str, aadsts: int, description: str, *, suberror: str = ""):
        super().__init__(f"{error}: AADSTS{aadsts}: {description}")
        self.status, self.error, self.aadsts, self.description = status, error, aadsts, description
        self.suberror = suberror

    def body(self) -> dict[str, Any]:
        trace = str(uuid.uuid4())
        return {"error": self.error, "error_description": f"AADSTS{self.aadsts}: {self.description} "
                f"Trace ID: {trace} Correlation ID: {uuid.uuid4()} Timestamp: "
                f"{time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}",
                "error_codes": [self.aadsts], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                "trace_id": trace, "correlation_id": str(uuid.uuid4()),
                "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}",
                **({"suberror": self.suberror} if self.suberror else {})}


def method_not_allowed() -> GraphError:
    return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


def unauthorized(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, {
        "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
                            'authorize", client_id="00000003-0000-0000-c000-000000000000"'})


def throttled(backoff_ms: int | None, status: int | None = None) -> GraphError:
    seconds = str(max(1, math.ceil((backoff_ms or 1000) / 1000)))
    if status == 503:
        return GraphError(503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later.",
                          {"Retry-After": seconds})
    return GraphError(status or 429, "TooManyRequests", "Too many requests have been made. Please retry later.",
                      {"Retry-After": seconds})
