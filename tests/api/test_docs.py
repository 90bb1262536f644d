"""docs/api.md against the app's routes: every operation of the OpenAPI document is named in it
as `METHOD /path`, every `/api/v1` operation has a curl example, and neither names a route the
app does not have.

Matching rule: path parameters match any one segment, whatever their name (`{org_id}` in the
route table, `$ORG` or a literal such as `fraud-drift` in a curl line), except `{path}` (the
MLflow proxy's), which matches one or more; the query string is ignored. A curl line's method
is its `-X`, else POST when it sends a body (`-d`, `-F`), else GET; `$API` stands for `/api/v1`.
A route table row or prose counts when the method and path stand together in one code span.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from modelplane_api.main import create_app

from .conftest import make_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
API_PREFIX = "/api/v1"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SPAN = re.compile(rf"`({'|'.join(METHODS)}) (/[^`?\s]*)[^`]*`")
BASH = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)
CURL_URL = re.compile(r'"\$API(/[^"?]*)')
CURL_METHOD = re.compile(r"\s-X\s*([A-Z]+)")
CURL_BODY = re.compile(r"\s(-d|-F|--data\S*|--form)\s")

Operation = tuple[str, str]


def spans(text: str) -> set[Operation]:
    """Every `METHOD /path` code span of a Markdown text, query strings dropped."""
    return {(method, path) for method, path in SPAN.findall(text)}


def curl_calls(text: str) -> set[Operation]:
    """(method, path) of every curl command in the text's bash blocks."""
    calls = set()
    for block in BASH.findall(text):
        for command in block.replace("\\\n", " ").splitlines():
            url = CURL_URL.search(command)
            if not command.startswith("curl ") or url is None:
                continue
            explicit = CURL_METHOD.search(command)
            method = explicit[1] if explicit else "POST" if CURL_BODY.search(command) else "GET"
            calls.add((method, API_PREFIX + url[1]))
    return calls


def _pattern(part: str) -> str:
    if part in ("{path}", "{path:path}"):
        return ".+"
    return "[^/]+" if part.startswith("{") else re.escape(part)


def covers(template: Operation, mentioned: set[Operation]) -> bool:
    """Whether some mentioned (method, path) is a call of the route template."""
    method, path = template
    pattern = re.compile("".join(_pattern(part) for part in re.split(r"(\{[^}/]+\})", path)))
    return any(m == method and pattern.fullmatch(p) for m, p in mentioned)


def openapi_operations() -> list[Operation]:
    document = create_app(make_settings()).openapi()
    return sorted(
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method.upper() in METHODS
    )


def app_routes() -> list[Operation]:
    """Every route of the app, those left out of the OpenAPI document (`/metrics`) too."""
    found = []
    for context in iter_route_contexts(create_app(make_settings()).routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found += [(m, str(context.path)) for m in route.methods or () if m in METHODS]
    return found


def test_every_operation_is_named_in_the_docs() -> None:
    named = spans(DOC.read_text())
    assert [op for op in openapi_operations() if not covers(op, named)] == []


def test_every_api_operation_has_a_curl_example() -> None:
    text = DOC.read_text()
    assert all(line.endswith("/api/v1") for line in re.findall(r"\bAPI=(\S+?);", text))
    calls = curl_calls(text)
    operations = [op for op in openapi_operations() if op[1].startswith(API_PREFIX)]
    assert [op for op in operations if not covers(op, calls)] == []


def test_the_docs_name_no_route_the_app_lacks() -> None:
    text, routes = DOC.read_text(), app_routes()
    mentioned = spans(text) | curl_calls(text)
    assert sorted(op for op in mentioned if not any(covers(r, {op}) for r in routes)) == []


@pytest.mark.parametrize(
    ("line", "route"),
    [
        (
            'curl -s -H "$H" "$API/organizations/$ORG/monitors"',
            ("GET", "/organizations/{id}/monitors"),
        ),
        ("curl -s \"$API/auth/login\" -d '{}'", ("POST", "/auth/login")),
        (
            'curl -X DELETE "$API/organizations/$ORG/models/m1"',
            ("DELETE", "/organizations/{o}/models/{m}"),
        ),
        ('curl -sg "$API/audit-events?filter[action]=a"', ("GET", "/audit-events")),
    ],
)
def test_a_curl_line_is_read_as_method_and_route(line: str, route: Operation) -> None:
    method, path = route
    assert covers((method, API_PREFIX + path), curl_calls(f"```bash\n{line}\n```\n"))


def test_a_path_parameter_never_matches_across_segments() -> None:
    calls = curl_calls('```bash\ncurl "$API/organizations/$ORG/models/$M/versions"\n```\n')
    assert not covers(("GET", "/api/v1/organizations/{org_id}/models/{model_id}"), calls)
    assert covers(("GET", "/api/v1/organizations/{org_id}/models/{model_id}/versions"), calls)
