"""The Datameer REST API over the simulation: routing, authentication, permissions, answers.

Transport-free: ``Api.handle`` takes a parsed ``Request`` and returns a
``Response``; ``runner.emulator.server`` moves them over HTTP and injects faults.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.emulator import lenient_json, shapes
from runner.emulator.catalog import Catalog, may_use
from runner.emulator.execution import ExecutionView
from runner.emulator.faults import NO_TRIGGER_FAULT, FaultInjector, TriggerFault
from runner.emulator.scenario import Artifact, Scenario, User
from runner.emulator.simulation import Simulation

JSON_TYPE = "application/json;charset=UTF-8"
_NO_CONFIGURATION = "Give ?configuration=<id> or ?sequence=<file ids>"
_MAX_HISTORY_PAGE = 1000


@dataclass(frozen=True)
class Request:
    """One HTTP request: ``path`` is the raw (still percent-encoded) path without the query."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    authorization: str | None
    body: bytes = b""
    # Set by the fault injector: act, then cut the connection before answering.
    lose_answer: bool = False


@dataclass(frozen=True)
class Response:
    """What to send back; ``cut`` closes the connection instead, without any answer."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    cut: bool = False


def json_response(status: int, payload: Any, **fields: Any) -> Response:
    """A JSON answer, pretty-printed like the reference's examples."""
    return Response(status, (json.dumps(payload, indent=2) + "\n").encode(), **fields)


def servlet_404(path: str) -> Response:
    """The servlet container's own page for a path no servlet serves (HTML, not JSON)."""
    page = (
        "<html>\n<head>\n<title>Error 404 Not Found</title>\n</head>\n"
        f"<body><h2>HTTP ERROR 404</h2>\n<p>Problem accessing {html.escape(path)}. Reason:\n"
        "<pre>    Not Found</pre></p>\n</body>\n</html>\n"
    )
    return Response(404, page.encode(), "text/html;charset=ISO-8859-1")


@dataclass(frozen=True)
class Route:
    """One endpoint: method, path pattern and, for ``/rest/job-execution``, the query key."""

    method: str
    pattern: re.Pattern[str]
    label: str  # the key in stats(), e.g. "GET /api/job-execution/{ref}/status"
    handler: str
    feature: str | None = None
    query_key: str | None = None


def _route(method: str, template: str, handler: str, **extra: Any) -> Route:
    regex = re.escape(template.split("?")[0])
    regex = regex.replace(re.escape("{ref}"), "(?P<ref>.+)").replace(
        re.escape("{id}"), "(?P<id>[^/]+)"
    )
    return Route(method, re.compile(f"^{regex}$"), f"{method} {template}", handler, **extra)


ROUTES = (
    _route("GET", "/rest/license-details", "license_details"),
    _route("GET", "/rest/job-configuration/job-status/{id}", "v1_status"),
    _route("GET", "/api/job-execution/{ref}/status", "v2_status", feature="api_v2"),
    _route("GET", "/rest/job-configuration/job-history/{id}", "history"),
    _route("GET", "/rest/job-execution/job-details/{id}", "details"),
    _route("GET", "/rest/jobs/list-running", "list_running"),
    _route("POST", "/api/job-execution/{ref}/trigger", "trigger", feature="api_v2"),
    _route("POST", "/api/job-execution/{ref}/stop", "stop", feature="api_v2"),
    _route(
        "POST",
        "/rest/job-execution?sequence=",
        "sequence",
        feature="sequence",
        query_key="sequence",
    ),
    _route(
        "POST",
        "/rest/job-execution?configuration=",
        "legacy_trigger",
        query_key="configuration",
    ),
    _route("POST", "/rest/job-execution/job-kill/{id}", "legacy_kill"),
    _route("GET", "/rest/workbook/{id}", "workbook", feature="workbook_read"),
    _route("GET", "/rest/import-job/{id}", "import_job"),
    _route("GET", "/rest/export-jobs/{id}", "export_job"),
    _route("DELETE", "/rest/data/{id}", "delete"),
)


@dataclass(frozen=True)
class Match:
    """The route a request took (or why none did) and the values its path carried."""

    route: Route | None
    params: Mapping[str, str] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()  # methods the path accepts, when the method was wrong

    @property
    def label(self) -> str:
        """The stats key: the route's label, or "unmatched"."""
        return self.route.label if self.route else "unmatched"


def match(method: str, path: str, query: Mapping[str, list[str]]) -> Match:
    """Find the route of a request."""
    allowed: list[str] = []
    for route in ROUTES:
        found = route.pattern.match(path)
        if not found or (route.query_key and route.query_key not in query):
            continue
        if route.method == method:
            return Match(route, found.groupdict())
        allowed.append(route.method)
    return Match(None, allowed=tuple(sorted(set(allowed))))


class Api:
    """Answers every endpoint of the reference for one scenario and simulation."""

    def __init__(
        self, scenario: Scenario, state: Simulation, faults: FaultInjector | None = None
    ) -> None:
        self.scenario = scenario
        self.state = state
        self.catalog = Catalog(scenario)
        self.faults = faults

    def handle(self, request: Request, found: Match) -> Response:
        """Route, check version and credentials, then answer."""
        route = found.route
        if route is None:
            return self._unrouted(request, found)
        if route.feature and not self.scenario.has(route.feature):
            if route.feature == "sequence":
                # Every version serves POST /rest/job-execution (the legacy trigger): before
                # 7.5.2 it refuses a call without ?configuration=, it does not 404.
                return json_response(400, shapes.failure(_NO_CONFIGURATION))
            return servlet_404(request.path)
        user = self._authenticate(request.authorization)
        if user is None:
            return json_response(
                401,
                shapes.failure("Authentication required"),
                headers=(("WWW-Authenticate", 'Basic realm="Datameer"'),),
            )
        handler: Callable[[Request, User, Mapping[str, str]], Response] = getattr(
            self, f"_{route.handler}"
        )
        return handler(request, user, found.params)

    def _unrouted(self, request: Request, found: Match) -> Response:
        if found.allowed:
            return Response(405, b"", headers=(("Allow", ", ".join(found.allowed)),))
        if request.method == "POST" and request.path == "/rest/job-execution":
            return json_response(400, shapes.failure(_NO_CONFIGURATION))
        return servlet_404(request.path)

    def _authenticate(self, header: str | None) -> User | None:
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, _, password = decoded.partition(":")
        user = self.catalog.user(name)
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            return None
        return user

    # -- GET ---------------------------------------------------------------------

    def _license_details(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        return json_response(200, shapes.license_details(self.scenario.version))

    def _v1_status(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        artifact = self._configuration(user, params["id"])
        if artifact is None:
            return json_response(404, shapes.not_found("DapJobConfiguration", params["id"]))
        return json_response(200, shapes.v1_status(self.state.latest(artifact.file_id)))

    def _v2_status(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        artifact = self._visible(user, self._by_ref(params["ref"]))
        if artifact is None:
            return json_response(404, shapes.failure(shapes.NOT_ACCESSIBLE))
        latest = self.state.latest(artifact.file_id, lag=self.scenario.status_lag)
        return json_response(200, shapes.v2_status(latest))

    def _history(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        artifact = self._configuration(user, params["id"])
        if artifact is None:
            return json_response(404, shapes.not_found("DapJobConfiguration", params["id"]))
        try:
            start = _query_int(request.query, "start", 0)
            length = min(_query_int(request.query, "length", 10), _MAX_HISTORY_PAGE)
        except ValueError as error:
            return json_response(400, shapes.failure(str(error)))
        page = self.state.history(artifact.file_id, start, length)
        return json_response(200, [shapes.history_entry(e) for e in page])

    def _details(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        missing = json_response(404, shapes.not_found("DapJobExecution", params["id"]))
        if not params["id"].isdigit():
            return missing
        try:
            execution = self.state.execution(int(params["id"]))
        except KeyError:
            return missing
        artifact = self._visible(user, self.catalog.by_file_id(execution.file_id))
        if artifact is None or not execution.visible(self.state.now()):
            return missing
        shape_7_4 = self.scenario.has("details_7_4")
        return json_response(200, shapes.details(execution, artifact, shape_7_4=shape_7_4))

    def _list_running(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        entries = []
        now = self.state.now()
        for execution in self.state.active():
            artifact = self._visible(user, self.catalog.by_file_id(execution.file_id))
            if artifact is not None and execution.visible(now):
                entries.append(shapes.running_entry(execution, artifact))
        return json_response(200, entries)

    def _workbook(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        return self._configured(user, params["id"], "workbook")

    def _import_job(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        return self._configured(user, params["id"], "import_job")

    def _export_job(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        return self._configured(user, params["id"], "export_job")

    def _configured(self, user: User, raw: str, kind: str) -> Response:
        """The read call of an artifact by its configuration id (only of its own kind)."""
        artifact = self._configuration(user, raw)
        if artifact is None or artifact.kind != kind:
            return json_response(404, shapes.not_found("DapJobConfiguration", raw))
        return json_response(200, shapes.configured_file(artifact))

    # -- POST / DELETE -------------------------------------------------------------

    def _trigger(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        found = self._by_ref(params["ref"])
        artifact = self._visible(user, found)
        if artifact is None:
            self.state.refuse("trigger", user.name, found)
            return json_response(404, shapes.failure(shapes.NOT_ACCESSIBLE))
        if self._forbidden(artifact):
            return self._refuse_403("trigger", user, artifact)
        execution, answered = self._start(request, user, artifact)
        body = shapes.triggered(execution)
        if answered is None:
            del body["job-execution-id"], body["job-execution-user"], body["job-execution-trigger"]
        else:
            body["job-execution-id"] = answered
        return json_response(200, body, cut=request.lose_answer)

    def _stop(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        found = self._by_ref(params["ref"])
        artifact = self._visible(user, found)
        if artifact is None:
            self.state.refuse("stop", user.name, found)
            return json_response(404, shapes.failure(shapes.NOT_ACCESSIBLE))
        if self._forbidden(artifact):
            return self._refuse_403("stop", user, artifact)
        self.state.stop(artifact, user.name)
        return Response(200)

    def _sequence(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        try:
            file_ids, variables = _sequence_request(request)
        except ValueError as error:
            return json_response(400, shapes.failure(str(error)))
        roots = [self._visible(user, self.catalog.by_file_id(i)) for i in file_ids]
        if any(root is None for root in roots):
            return json_response(404, shapes.failure(shapes.NOT_ACCESSIBLE))
        steps = self.state.trigger_sequence(
            [r for r in roots if r is not None], user.name, variables, lost=request.lose_answer
        )
        return json_response(200, shapes.execution_plan(steps), cut=request.lose_answer)

    def _legacy_trigger(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        raw = request.query["configuration"][0]
        artifact = self._configuration(user, raw)
        if artifact is None:
            self.state.refuse("legacy_trigger", user.name, None)
            return json_response(404, shapes.not_found("DapJobConfiguration", raw))
        if self._forbidden(artifact):
            return self._refuse_403("legacy_trigger", user, artifact)
        _, answered = self._start(request, user, artifact, legacy=True)
        body = {} if answered is None else {"id": answered}
        return json_response(200, body, cut=request.lose_answer)

    def _legacy_kill(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        missing = json_response(404, shapes.not_found("DapJobExecution", params["id"]))
        if not params["id"].isdigit():
            return missing
        try:
            execution = self.state.execution(int(params["id"]))
        except KeyError:
            return missing
        artifact = self._visible(user, self.catalog.by_file_id(execution.file_id))
        if artifact is None:
            return missing
        if self._forbidden(artifact):
            return self._refuse_403("legacy_stop", user, artifact)
        self.state.kill(execution.execution_id, user.name)
        return Response(200)

    def _delete(self, request: Request, user: User, params: Mapping[str, str]) -> Response:
        raw = params["id"]
        owner = self._visible(user, self.catalog.by_data(int(raw)) if raw.isdigit() else None)
        if owner is None:
            return json_response(404, shapes.not_found("Data", raw))
        deleted = self.state.delete_data(int(raw), owner, user.name)
        return json_response(200, {"status": deleted})

    # -- helpers -------------------------------------------------------------------

    def _start(
        self, request: Request, user: User, artifact: Artifact, *, legacy: bool = False
    ) -> tuple[ExecutionView, int | None]:
        """Trigger ``artifact`` under the hostile faults; the execution and the id to answer."""
        fault = self._trigger_fault(artifact)
        answered = self.state.last_triggered() if fault.reuse_id else None
        answer_fault = "without_id" if fault.without_id else None
        if answered is not None:
            answer_fault = "reused_id"
        if fault.phantom_id:  # far above every id the emulator will ever hand out
            answered, answer_fault = self.state.phantom_id(), "phantom_id"
        execution = self.state.trigger(
            artifact,
            user.name,
            legacy=legacy,
            lost=request.lose_answer,
            hidden_for=fault.hidden_for,
            answer_fault=answer_fault,
            answered_id=answered,
        )
        if fault.without_id:
            return execution, None
        return execution, answered if answered is not None else execution.execution_id

    def _trigger_fault(self, artifact: Artifact) -> TriggerFault:
        if self.faults is None:
            return NO_TRIGGER_FAULT
        return self.faults.decide_trigger(artifact.file_id)

    def _forbidden(self, artifact: Artifact) -> bool:
        return self.faults is not None and self.faults.forbidden(artifact.file_id)

    def _refuse_403(self, action: str, user: User, artifact: Artifact) -> Response:
        self.state.refuse(action, user.name, artifact)
        reason = f"User '{user.name}' has no permission to execute {artifact.path}"
        return json_response(403, shapes.failure(reason))

    def _by_ref(self, raw: str) -> Artifact | None:
        strict = self.scenario.path_encoding if self.scenario.paths == "strict" else None
        return self.catalog.by_ref(raw, strict)

    def _visible(self, user: User, artifact: Artifact | None) -> Artifact | None:
        return artifact if artifact is not None and may_use(user, artifact) else None

    def _configuration(self, user: User, raw: str) -> Artifact | None:
        if not raw.isdigit():
            return None
        return self._visible(user, self.catalog.by_configuration(int(raw)))


def _query_int(query: Mapping[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    if not values[0].isdigit():
        raise ValueError(f"'{name}' must be a whole number >= 0, got {values[0]!r}")
    return int(values[0])


def _sequence_request(request: Request) -> tuple[list[int], dict[str, str]]:
    """File ids (query ``sequence=4,5`` then body ``fileIds``) and variables, lenient JSON."""
    body: Any = {}
    if request.body.strip():
        try:
            body = lenient_json.loads(request.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"Malformed request body: {error}") from None
    if not isinstance(body, dict):
        raise ValueError("The request body must be an object: {variables: {...}, fileIds: [...]}")
    in_query = [
        _file_id(part)
        for raw in request.query.get("sequence", [])
        for part in raw.split(",")
        if part.strip()
    ]
    in_body = [_file_id(str(item)) for item in _list(body.get("fileIds", []), "fileIds")]
    file_ids = _one_id_list(in_query, in_body)
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise ValueError("'variables' must be an object of name → value")
    return file_ids, {str(k): _variable(v) for k, v in variables.items()}


def _one_id_list(in_query: list[int], in_body: list[int]) -> list[int]:
    """The artifacts a sequence starts, named in the query, the body, or both alike.

    The reference sends both; they are counted as one list only when they name the
    same artifacts.  Anything that would start an artifact twice, or that leaves
    open which list counts, is refused (4xx): a silent de-duplication would hide a
    client that triggers a chain twice.
    """
    for where, ids in (("?sequence=", in_query), ("fileIds", in_body)):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"{where} names file id(s) {twice} more than once")
    if in_query and in_body and set(in_query) != set(in_body):
        raise ValueError(
            f"?sequence= names file ids {in_query} but fileIds names {in_body}: "
            "give the same ids in both, or one of them"
        )
    file_ids = in_query or in_body
    if not file_ids:
        raise ValueError('No file ids: give ?sequence=<ids> or "fileIds": [...]')
    return file_ids


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"'{name}' must be a list")
    return value


def _file_id(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"File ids are whole numbers, got {text!r}")
    return int(text)


def _variable(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
