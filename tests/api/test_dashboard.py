"""The dashboard's static export is served at `/` after every API route, only when built."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import Api, ApiFactory

INDEX = "<!DOCTYPE html><html><body>dashboard</body></html>"


def fake_export(root: Path) -> Path:
    """A directory shaped like `next build`'s static export with `trailingSlash: true`."""
    (root / "organizations").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "404.html").write_text("<html>not here</html>")
    (root / "organizations" / "index.html").write_text("<html>organizations</html>")
    return root


@pytest.fixture
async def api_with_dashboard(make_api: ApiFactory, tmp_path: Path) -> Api:
    """An app on the real services that serves a (fake) built export."""
    api: Api = await make_api(dashboard_dir=str(fake_export(tmp_path / "out")))
    return api


async def test_the_export_is_served_at_the_root_and_api_routes_win(api_with_dashboard: Api) -> None:
    api = api_with_dashboard
    index = await api.client.get("/")
    assert index.status_code == 200
    assert index.text == INDEX
    assert index.headers["content-type"].startswith("text/html")
    page = await api.client.get("/organizations/")
    assert page.status_code == 200
    assert "organizations" in page.text

    user = await api.register("dash")
    me = await api.client.get("/api/v1/auth/me", headers=user["headers"])
    assert me.status_code == 200
    assert me.json()["data"]["email"] == user["email"]
    assert (await api.client.get("/health")).status_code == 200
    assert (await api.client.get("/openapi.json")).json()["info"]["title"] == "Modelplane API"


async def test_unknown_api_paths_stay_api_errors_with_a_dashboard(api_with_dashboard: Api) -> None:
    api = api_with_dashboard
    missing = await api.client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = await api.client.delete("/api/v1/auth/me")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert wrong_method.headers["allow"] == "GET"
    page_missing = await api.client.get("/no-such-page/")
    assert page_missing.status_code == 404
    assert "not here" in page_missing.text


API_ANSWERS = [
    ("GET", "/api/v1/auth/me"),
    ("GET", "/api/v1/auth/me/"),
    ("DELETE", "/api/v1/auth/me"),
    ("POST", "/api/v1/organizations/"),
    ("GET", "/api/v1/no-such-thing"),
    ("GET", "/api/v1/no-such-thing/"),
    ("GET", "/api"),
    ("GET", "/api/"),
]


async def test_api_paths_answer_the_same_with_and_without_the_dashboard(
    make_api: ApiFactory, api_with_dashboard: Api
) -> None:
    plain = await make_api()
    for method, path in API_ANSWERS:
        expected = await plain.client.request(method, path)
        got = await api_with_dashboard.client.request(method, path)
        assert (got.status_code, got.headers.get("location"), got.headers.get("allow")) == (
            expected.status_code,
            expected.headers.get("location"),
            expected.headers.get("allow"),
        ), f"{method} {path}"
        if expected.status_code >= 400:
            assert got.json()["error"]["code"] == expected.json()["error"]["code"]


async def test_no_dashboard_without_a_built_export(make_api: ApiFactory, tmp_path: Path) -> None:
    for settings in ({}, {"dashboard_dir": str(tmp_path)}):  # unset; a directory, no index.html
        api = await make_api(**settings)
        root = await api.client.get("/")
        assert root.status_code == 404
        assert root.json()["error"]["code"] == "not_found"


async def test_the_export_is_gzipped_for_clients_that_accept_it_and_api_answers_are_not(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    out = fake_export(tmp_path / "out")
    script = ("function dashboard(){return 1}\n" * 400).encode()  # 12 KB, as a chunk would be
    (out / "_next").mkdir()
    (out / "_next" / "chunk.js").write_bytes(script)
    api = await make_api(dashboard_dir=str(out))
    user = await api.register("gzip")

    zipped = await api.client.get("/_next/chunk.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(script) / 10
    assert zipped.content == script  # httpx decodes it
    plain = await api.client.get("/_next/chunk.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == script
    small = await api.client.get("/", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # under the 1 KiB minimum
    assert small.text == INDEX

    me = await api.client.get(
        "/api/v1/auth/me", headers={**user["headers"], "Accept-Encoding": "gzip"}
    )
    assert me.status_code == 200
    assert "content-encoding" not in me.headers
    schema = await api.client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert len(schema.content) > 100_000
    assert "content-encoding" not in schema.headers
