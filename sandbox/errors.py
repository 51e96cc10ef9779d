"""SP-API error responses: the ``{"errors": [...]}`` body the client library raises on.

python-amazon-sp-api raises only when the JSON body has a non-empty ``errors`` list, so every
error the sandbox answers, from any route, carries one.
"""

from __future__ import annotations

#: status -> (code, message), Amazon's wording (Amazon's common response conventions).
STANDARD_ERRORS = {
    400: (
        "InvalidInput",
        "The input you have submitted is not valid. Please check your input and try again.",
    ),
    403: ("Unauthorized", "Access to requested resource is denied."),
    404: ("NotFound", "The resource you have requested cannot be found."),
    405: ("MethodNotAllowed", "The method is not allowed for the requested resource."),
    429: ("QuotaExceeded", "You exceeded your quota for the requested resource."),
    500: ("InternalFailure", "We encountered an internal error. Please try again."),
    503: ("ServiceUnavailable", "Service is temporarily unavailable. Please try again."),
    504: ("GatewayTimeout", "The request timed out. Please try again."),
}

INVALID_TOKEN_DETAILS = "The access token you provided is revoked, malformed or invalid."  # noqa: S105 - a message
NEXT_TOKEN_MESSAGE = "Next token is invalid or expired"  # noqa: S105 - a message


class ApiError(Exception):
    """An SP-API error answer; raised by responders, rendered by the app's error handler."""

    def __init__(self, status: int, message: str | None = None, details: str = "", code: str | None = None):
        default_code, default_message = STANDARD_ERRORS.get(status, ("InternalFailure", "Error."))
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        self.details = details
        super().__init__(f"{status} {self.code}: {self.message} {details}".strip())

    def body(self) -> dict:
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: str = "") -> dict:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def invalid_input(details: str, message: str | None = None) -> ApiError:
    """400 InvalidInput; ``details`` names the offending parameter."""
    return ApiError(400, message=message, details=details)


class LwaError(Exception):
    """An LWA token endpoint error: ``{"error", "error_description"}``, not the SP-API shape."""

    DESCRIPTIONS = {
        "invalid_grant": (400, "The request has an invalid grant parameter : refresh_token"),
        "invalid_client": (401, "Client authentication failed"),
        "invalid_request": (400, "The request is missing a required parameter"),
        "unsupported_grant_type": (400, "The authorization grant type is not supported"),
        "server_error": (500, "Internal server error"),
    }

    def __init__(self, error: str, status: int | None = None):
        default_status, self.description = self.DESCRIPTIONS[error]
        self.error = error
        self.status = status or default_status
        super().__init__(f"{self.status} {error}")

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}
