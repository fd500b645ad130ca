"""The one exception hierarchy of dmpipe; every message is meant for the user.

::

    DmpipeError                      exit 1 unless a subclass says otherwise
    ├── UsageError                   exit 2  the command line is invalid
    ├── PipelineFileError            exit 2  the pipeline file is invalid (file:line:col)
    ├── ScenarioError                exit 2  an emulator scenario file is invalid
    ├── MissingPasswordError         exit 3  a user is set but no password is (nothing sent)
    ├── ApiError                     exit 1  the server answered with a failure (carries reason)
    │   ├── AuthenticationError      exit 3  401/403: wrong or missing credentials
    │   ├── NotFoundError            exit 2  404 or "File doesn't exist ..." failure body
    │   │   └── EndpointUnavailableError     the server (version) lacks this endpoint
    │   ├── TransientApiError        exit 3  worth retrying later
    │   │   ├── ServerError                  5xx answer
    │   │   ├── ThrottledError               429 answer (after the retries of a read)
    │   │   ├── UnreadableAnswerError        a read answered 2xx with an unreadable body
    │   │   └── ConnectionFailedError        no answer: refused, DNS, timed out, TLS handshake
    │   ├── OutcomeUnknownError      exit 3  a POST whose answer was lost, cut or unreadable:
    │   │                                    it may have run
    │   └── MalformedResponseError   exit 3  a stop or delete answered what the API does not
    │                                        document
    └── RunError                     exit 1  a job failed, timed out or was cancelled

Callers catch by meaning: a retry loop catches ``TransientApiError``; anything
else is final.  ``main()`` prints ``str(error)`` and exits with ``error.exit_code``.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_SERVER = 3
EXIT_INTERRUPTED = 130


class DmpipeError(Exception):
    """Base of every error dmpipe reports to its user."""

    exit_code = EXIT_FAILED


class UsageError(DmpipeError):
    """The command line is invalid."""

    exit_code = EXIT_INVALID


class PipelineFileError(DmpipeError):
    """A pipeline file is invalid; ``problems`` lists every finding, in file order."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class FileProblem:
    """One finding in a pipeline file, printed as ``file:line:col: message``."""

    file: str
    line: int
    col: int
    message: str
    json_path: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}:{self.line}:{self.col}: {prefix}{self.message}"


class ScenarioError(DmpipeError):
    """An emulator scenario is invalid; the message names the file and the key."""

    exit_code = EXIT_INVALID


class ApiError(DmpipeError):
    """A call to the Datameer REST API failed; names the call and the URL."""

    def __init__(
        self,
        call: str,
        url: str,
        reason: str,
        status_code: int | None = None,
    ) -> None:
        self.call = call
        self.url = url
        self.reason = reason
        self.status_code = status_code
        code = f" (HTTP {status_code})" if status_code is not None else ""
        super().__init__(f"{call} failed{code}: {reason} [{url}]")


class AuthenticationError(ApiError):
    """The server refused the credentials (401) or the permission (403)."""

    exit_code = EXIT_SERVER


class NotFoundError(ApiError):
    """The artifact, execution or data the call names does not exist."""

    exit_code = EXIT_INVALID


class EndpointUnavailableError(NotFoundError):
    """The server does not offer this endpoint (too old, or plugin missing)."""


class TransientApiError(ApiError):
    """A failure that may go away: worth retrying with backoff."""

    exit_code = EXIT_SERVER


class ServerError(TransientApiError):
    """The server answered 5xx."""


class ThrottledError(TransientApiError):
    """The server answered 429 Too Many Requests (a read still did after its retries)."""


class UnreadableAnswerError(TransientApiError):
    """A read (GET) was answered 2xx with a body that is not the documented shape: an HTML
    maintenance page, garbage, a cut or huge body.  Reading again later may work."""


class ConnectionFailedError(TransientApiError):
    """The server could not be reached or the connection broke.  ``dropped`` is True when
    the server took the connection and closed or broke it without a complete answer:
    something is listening at the address and failed this once, unlike a refused
    connection, a host name that does not resolve, a connection that never opens, a failed
    TLS handshake, or a server that let the call's time run out."""

    def __init__(self, call: str, url: str, reason: str, *, dropped: bool = False) -> None:
        super().__init__(call, url, reason)
        self.dropped = dropped


class OutcomeUnknownError(ApiError):
    """A POST was sent but its answer was lost: the action may or may not have happened."""

    exit_code = EXIT_SERVER


class MalformedResponseError(ApiError):
    """The answer to a stop or delete does not have the documented shape (reads raise
    ``UnreadableAnswerError``, triggers ``OutcomeUnknownError``)."""

    exit_code = EXIT_SERVER


class MissingPasswordError(DmpipeError):
    """A user name is set but no password was found anywhere; raised before any call."""

    exit_code = EXIT_SERVER


class ListenError(DmpipeError):
    """``dmpipe emulator`` cannot listen where it was told (the port is taken, say)."""

    exit_code = EXIT_SERVER


class RunError(DmpipeError):
    """A pipeline run did not succeed."""

    exit_code = EXIT_FAILED
