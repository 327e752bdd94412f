"""Check Spotify Web API traffic against Spotify's OpenAPI document.

:class:`SpotifyContract` is a focused validator over the bundled YAML
(``specs/spotify-web-api.openapi.yml``, MIT, from sonallux/spotify-web-api): it finds
the operation for a method + path, checks query/path parameters (presence, type,
bounds, enums; unknown query parameters are flagged too), the JSON request body, and
the response body for its status. Use it from any test::

    contract = SpotifyContract.load()
    contract.validate_request("PUT", "https://api.spotify.com/v1/me/library",
                              query={"uris": "spotify:album:..."})
    contract.validate_response("GET", "/v1/me", 200, body=b'{...}',
                               content_type="application/json")

Paths may be full URLs or paths; everything up to ``/v1`` is ignored, so the
simulator's ``/spotify/api/v1`` prefix works. Each method raises
:class:`ContractViolation` listing every problem found.

Two documented deviations are tolerated by default (pass ``strict=True`` to refuse):
deprecated fields that the spec still marks required (``label``, ``popularity``,
``available_markets``...) may be absent, because Spotify stopped sending them to
Development-Mode apps in Feb 2026; and a 403 may be ``text/plain`` ("User not
registered in the Developer Dashboard", platform-apis §1.3). Undocumented statuses are
accepted when they carry Spotify's standard ``{"error": {...}}`` body, or are 5xx.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from launchlink.simulator.state import SimulatorState

SPEC_URI = "urn:launchlink:spotify-web-api"
QueryInput = Mapping[str, str] | Sequence[tuple[str, str]] | str | None


class ContractViolation(Exception):
    """The request or response does not match the OpenAPI document."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class _Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    pointer: str
    spec: dict[str, Any]


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _drop_discriminators(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("discriminator", None)
        for value in node.values():
            _drop_discriminators(value)
    elif isinstance(node, list):
        for value in node:
            _drop_discriminators(value)


def _relax_deprecated_required(node: Any) -> None:
    """Drop deprecated properties from ``required`` lists (they vanished in Dev Mode)."""
    if isinstance(node, dict):
        required = node.get("required")
        if isinstance(required, list):
            props: dict[str, Any] = dict(node.get("properties") or {})
            for part in node.get("allOf") or []:
                if isinstance(part, dict):
                    props.update(part.get("properties") or {})
            node["required"] = [
                name
                for name in required
                if not (isinstance(props.get(name), dict) and props[name].get("deprecated"))
            ]
        for value in node.values():
            _relax_deprecated_required(value)
    elif isinstance(node, list):
        for value in node:
            _relax_deprecated_required(value)


class SpotifyContract:
    """The Spotify Web API contract, ready to validate traffic."""

    def __init__(self, document: dict[str, Any], *, strict: bool = False) -> None:
        self.strict = strict
        self.document = copy.deepcopy(document)
        # The spec's discriminators (propertyName "type", no mapping) would need schemas
        # named "track"/"episode"; oneOf alone already tells the two apart.
        _drop_discriminators(self.document)
        if not strict:
            _relax_deprecated_required(self.document["components"])
        resource = Resource.from_contents(self.document, default_specification=DRAFT4)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, OAS30Validator] = {}
        self._operations: list[_Operation] = []
        for template, item in self.document["paths"].items():
            regex = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template))
            names = re.findall(r"\{([^}]+)\}", template)
            pattern = re.compile(f"^{regex}$")
            for method, operation in item.items():
                if method not in {"get", "put", "post", "delete", "patch"}:
                    continue
                op = dict(operation)
                op["_path_names"] = names
                self._operations.append(
                    _Operation(
                        method.upper(),
                        template,
                        pattern,
                        f"/paths/{_escape(template)}/{method}",
                        op,
                    )
                )
        # Literal paths before templated ones, so /me/albums never reads as /albums/{id}.
        self._operations.sort(key=lambda o: o.template.count("{"))

    @classmethod
    def load(cls, *, strict: bool = False) -> SpotifyContract:
        """The contract from the YAML bundled with launchlink (parsed once per process)."""
        return _load(strict)

    # -- lookups --------------------------------------------------------------------------

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _validator(self, pointer: str) -> OAS30Validator:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = OAS30Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self._registry)
            self._validators[pointer] = validator
        return validator

    def _schema_problems(self, pointer: str, instance: Any, where: str) -> list[str]:
        errors = list(self._validator(pointer).iter_errors(instance))
        if not errors:
            return []
        worst = best_match(errors)
        assert worst is not None
        path = "/".join(str(p) for p in worst.absolute_path) or "(root)"
        return [f"{where}: {path}: {worst.message[:300]}"]

    def operation(self, method: str, url: str) -> tuple[_Operation, dict[str, str]] | None:
        path = _relative_path(url)
        for op in self._operations:
            if op.method != method.upper():
                continue
            match = op.pattern.match(path)
            if match:
                return op, dict(zip(op.spec["_path_names"], match.groups(), strict=True))
        return None

    # -- requests ---------------------------------------------------------------------------

    def validate_request(
        self,
        method: str,
        url: str,
        *,
        query: QueryInput = None,
        body: bytes | str | Any = None,
        content_type: str | None = None,
    ) -> None:
        """Raise :class:`ContractViolation` unless the request matches an operation."""
        found = self.operation(method, url)
        if found is None:
            raise ContractViolation([f"no operation {method.upper()} {_relative_path(url)}"])
        op, path_values = found
        pairs = _query_pairs(url, query)
        problems = self._parameter_problems(op, path_values, pairs)
        problems += self._body_problems(op, body, content_type)
        if problems:
            raise ContractViolation(problems)

    def _parameter_problems(
        self, op: _Operation, path_values: dict[str, str], pairs: list[tuple[str, str]]
    ) -> list[str]:
        problems: list[str] = []
        query = dict(pairs)
        declared: set[str] = set()
        for index, raw_param in enumerate(op.spec.get("parameters", [])):
            param = self._resolve(raw_param)
            name, where = param["name"], param["in"]
            if where not in {"query", "path"}:
                continue
            declared.add(name)
            value = path_values.get(name) if where == "path" else query.get(name)
            if value is None:
                if param.get("required"):
                    problems.append(f"missing required {where} parameter {name!r}")
                continue
            schema = self._resolve(param.get("schema", {}))
            coerced = _coerce(value, schema)
            if coerced is _INVALID:
                problems.append(
                    f"{where} parameter {name!r}={value!r} is not a {schema.get('type')}"
                )
                continue
            pointer = _param_schema_pointer(op, raw_param, index)
            problems += self._schema_problems(pointer, coerced, f"{where} parameter {name!r}")
        unknown = sorted(set(query) - declared)
        if unknown:
            problems.append(f"unknown query parameters {unknown}")
        return problems

    def _body_problems(self, op: _Operation, body: Any, content_type: str | None) -> list[str]:
        if body is None or body in (b"", ""):
            request_body = op.spec.get("requestBody")
            if request_body and self._resolve(request_body).get("required"):
                return ["request body is required"]
            return []
        request_body = op.spec.get("requestBody")
        if request_body is None:
            return ["operation takes no request body"]
        media = (content_type or "application/json").split(";")[0].strip()
        content = self._resolve(request_body).get("content", {})
        if media not in content:
            return [f"request content type {media!r} not in {sorted(content)}"]
        instance = _parse_json(body)
        if instance is _INVALID:
            return ["request body is not valid JSON"]
        pointer = f"{op.pointer}/requestBody/content/{_escape(media)}/schema"
        if "$ref" in request_body:
            pointer = request_body["$ref"].lstrip("#") + f"/content/{_escape(media)}/schema"
        return self._schema_problems(pointer, instance, "request body")

    # -- responses --------------------------------------------------------------------------

    def validate_response(
        self,
        method: str,
        url: str,
        status: int,
        *,
        body: bytes | str | Any = None,
        content_type: str | None = None,
    ) -> None:
        """Raise :class:`ContractViolation` unless the response fits the operation."""
        found = self.operation(method, url)
        if found is None:
            raise ContractViolation([f"no operation {method.upper()} {_relative_path(url)}"])
        op = found[0]
        problems = self._response_problems(op, status, body, content_type)
        if problems:
            raise ContractViolation(problems)

    def _response_problems(
        self, op: _Operation, status: int, body: Any, content_type: str | None
    ) -> list[str]:
        responses: dict[str, Any] = op.spec.get("responses", {})
        key = next(
            (k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None
        )
        media = (content_type or "").split(";")[0].strip()
        is_empty = body is None or body in (b"", "")
        if key is None:
            if status >= 500:
                return []
            instance = None if is_empty else _parse_json(body)
            if _is_error_wrapper(instance, status):
                return []
            return [f"status {status} is not documented for {op.method} {op.template}"]
        response = self._resolve(responses[key])
        content = response.get("content")
        if not content:
            if is_empty or body in (b"{}", "{}"):
                return []
            return [f"status {status} documents no body but one was sent"]
        if not self.strict and status == 403 and media == "text/plain":
            return []
        if media not in content:
            return [f"response content type {media!r} not in {sorted(content)}"]
        instance = _parse_json(body)
        if instance is _INVALID:
            return ["response body is not valid JSON"]
        ref = responses[key].get("$ref")
        base = ref.lstrip("#") if ref else f"{op.pointer}/responses/{_escape(key)}"
        pointer = f"{base}/content/{_escape(media)}/schema"
        return self._schema_problems(pointer, instance, f"response {status}")


@cache
def _load(strict: bool) -> SpotifyContract:
    text = (
        resources.files("launchlink.simulator")
        .joinpath("specs/spotify-web-api.openapi.yml")
        .read_text(encoding="utf-8")
    )
    return SpotifyContract(yaml.safe_load(text), strict=strict)


class _Invalid:
    pass


_INVALID: Any = _Invalid()


def _relative_path(url: str) -> str:
    path = urlsplit(url).path
    index = path.find("/v1/")
    if index >= 0:
        return path[index + 3 :]
    return "/" if path.endswith("/v1") else path


def _query_pairs(url: str, query: QueryInput) -> list[tuple[str, str]]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    if isinstance(query, str):
        pairs += parse_qsl(query, keep_blank_values=True)
    elif isinstance(query, Mapping):
        pairs += [(str(k), str(v)) for k, v in query.items()]
    elif query is not None:
        pairs += [(str(k), str(v)) for k, v in query]
    return pairs


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return _INVALID
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return _INVALID
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, _INVALID)
    if kind == "array":
        return [v for v in value.split(",") if v] if value else []
    return value


def _param_schema_pointer(op: _Operation, raw_param: dict[str, Any], index: int) -> str:
    if "$ref" in raw_param:
        return str(raw_param["$ref"]).lstrip("#") + "/schema"
    return f"{op.pointer}/parameters/{index}/schema"


def _parse_json(body: Any) -> Any:
    if isinstance(body, bytes | str):
        try:
            return json.loads(body)
        except ValueError:
            return _INVALID
    return body


def _is_error_wrapper(instance: Any, status: int) -> bool:
    return (
        isinstance(instance, dict)
        and isinstance(instance.get("error"), dict)
        and instance["error"].get("status") == status
        and isinstance(instance["error"].get("message"), str)
    )


class SpotifyContractMiddleware:
    """ASGI wrapper validating every request and response of the Spotify Web API mount.

    Request problems are recorded in ``state.contract_violations`` and the request goes
    on (the simulator answers as Spotify would). A response problem is recorded and
    the response replaced by ``500`` naming the problem, so a simulator bug is loud.
    """

    def __init__(self, app: ASGIApp, contract: SpotifyContract, state: SimulatorState) -> None:
        self.app = app
        self.contract = contract
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        method: str = scope["method"]
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        where = f"{method} {path}"
        try:
            self.contract.validate_request(
                method, path, query=query, body=body, content_type=headers.get("content-type")
            )
        except ContractViolation as exc:
            self.state.contract_violations.append(f"request {where}: {exc}")

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: Message = {}
        parts: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        status = int(start.get("status", 500))
        response_headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])
        }
        response_body = b"".join(parts)
        try:
            self.contract.validate_response(
                method,
                path,
                status,
                body=response_body,
                content_type=response_headers.get("content-type"),
            )
        except ContractViolation as exc:
            problem = f"response {where} {status}: {exc}"
            self.state.contract_violations.append(problem)
            payload = json.dumps({"error": {"status": 500, "message": problem}}).encode()
            start = {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
            response_body = payload
        await send(start)
        await send({"type": "http.response.body", "body": response_body, "more_body": False})
