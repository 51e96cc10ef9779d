"""The errors of sellersync, in one small tree."""


class SellerSyncError(Exception):
    """Base class of every error raised on purpose by sellersync."""


class SettingsError(SellerSyncError, ValueError):
    """A setting is present but malformed; the message is one line naming the variable."""


class UnknownUserError(SellerSyncError, LookupError):
    """No user has this id."""


class CorruptDocumentError(SellerSyncError):
    """A stored document breaks its own schema (a field missing or of the wrong type).

    Permanent: the job fails at once, naming the document and its fields; a retry would read the same.
    """


class UnknownJobError(SellerSyncError, LookupError):
    """No job has this id."""


class JobStateError(SellerSyncError):
    """The job is in a state that does not allow the operation (e.g. cancelling a finished job)."""


class AccountAuthError(SellerSyncError):
    """Amazon refused the account's authorisation (revoked or invalid refresh token, 403).

    Permanent: the account is marked ``auth_error`` and the call is not retried.
    """


class SpApiError(SellerSyncError):
    """An SP-API call failed after its call-level retries."""


class PermanentSpApiError(SpApiError):
    """A failure that a later retry would repeat: a 400 (a bug in our request), a body that is not JSON."""


class TransientSpApiError(SpApiError):
    """A failure worth retrying later as a whole job: throttling, 5xx, timeouts, connection errors."""


class JobCancelled(SellerSyncError):
    """The job was cancelled while it ran; it stops before its next account."""


class QuotaWait(SellerSyncError):
    """The next SP-API call would wait longer for its quota token than a worker thread should sleep.

    Not a failure: the actor turns it into a delayed redelivery of the job (no retry is spent), and
    the job resumes where it stopped. ``delay_ms`` is when to come back.
    """

    def __init__(self, message: str, delay_ms: int):
        super().__init__(message)
        self.delay_ms = delay_ms


class InvalidInputError(SellerSyncError, ValueError):
    """A value given by an operator or a client is malformed; ``field`` names it (never echoes a secret)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownAccountError(SellerSyncError, LookupError):
    """The user has no seller account in this marketplace."""


class AlreadyExistsError(SellerSyncError):
    """The thing to add exists already (a user, a connected account)."""


class UserTokenError(SellerSyncError, ValueError):
    """A seller-scoped token is malformed, expired, too long-lived or not signed with our secret."""


class LeaseLost(SellerSyncError):
    """This execution of a job no longer holds the job's lease (services.jobs.lease): it expired
    without a renewal (a partition, a pause) or a newer execution took it. The execution stops before
    its next write; the message is put back, not acked as done (actors.retries)."""
