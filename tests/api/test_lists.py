"""List conventions: page/limit with meta, whitelisted filters and sorts."""

from __future__ import annotations

from .conftest import Api


async def _org_with_projects(api: Api, names: list[str]) -> tuple[dict[str, str], str]:
    owner = await api.register("owner")
    org = await api.create_org(owner)
    for name in names:
        response = await api.client.post(
            f"/api/v1/organizations/{org['id']}/projects",
            headers=owner["headers"],
            json={"name": name},
        )
        assert response.status_code == 201
    return owner["headers"], f"/api/v1/organizations/{org['id']}/projects"


async def test_pages_carry_total_and_page_count(api: Api) -> None:
    headers, url = await _org_with_projects(api, [f"p{i}" for i in range(5)])
    first = (await api.client.get(url, headers=headers, params={"limit": 2})).json()
    last = (await api.client.get(url, headers=headers, params={"limit": 2, "page": 3})).json()
    assert first["meta"] == {"page": 1, "limit": 2, "total": 5, "pages": 3}
    assert len(first["data"]) == 2
    assert len(last["data"]) == 1
    assert {p["name"] for p in first["data"]}.isdisjoint({p["name"] for p in last["data"]})


async def test_sort_by_name_both_ways(api: Api) -> None:
    headers, url = await _org_with_projects(api, ["bravo", "alpha", "charlie"])
    ascending = (await api.client.get(url, headers=headers, params={"sort": "name"})).json()
    descending = (await api.client.get(url, headers=headers, params={"sort": "-name"})).json()
    assert [p["name"] for p in ascending["data"]] == ["alpha", "bravo", "charlie"]
    assert [p["name"] for p in descending["data"]] == ["charlie", "bravo", "alpha"]


async def test_filter_by_a_whitelisted_field(api: Api) -> None:
    headers, url = await _org_with_projects(api, ["alpha", "bravo"])
    body = (await api.client.get(url, headers=headers, params={"filter[name]": "bravo"})).json()
    assert [p["name"] for p in body["data"]] == ["bravo"]
    assert body["meta"]["total"] == 1


async def test_unknown_filters_and_sorts_are_refused(api: Api) -> None:
    headers, url = await _org_with_projects(api, ["alpha"])
    bad_filter = await api.client.get(url, headers=headers, params={"filter[organization_id]": "x"})
    bad_sort = await api.client.get(url, headers=headers, params={"sort": "password_hash"})
    assert bad_filter.status_code == 400
    assert bad_filter.json()["error"]["details"]["allowed"] == ["filter[name]"]
    assert bad_sort.status_code == 422


async def test_limits_are_capped(api: Api) -> None:
    headers, url = await _org_with_projects(api, [])
    response = await api.client.get(url, headers=headers, params={"limit": 1000})
    assert response.status_code == 422


async def test_a_deleted_project_disappears_from_lists_and_reads(api: Api) -> None:
    headers, url = await _org_with_projects(api, ["gone"])
    (project,) = (await api.client.get(url, headers=headers)).json()["data"]
    assert (await api.client.delete(f"{url}/{project['id']}", headers=headers)).status_code == 204
    assert (await api.client.get(url, headers=headers)).json()["meta"]["total"] == 0
    assert (await api.client.get(f"{url}/{project['id']}", headers=headers)).status_code == 404
    again = await api.client.post(url, headers=headers, json={"name": "gone"})
    assert again.status_code == 201  # the name is free again after a soft delete


async def test_a_page_past_the_end_is_empty_but_still_counts(api: Api) -> None:
    headers, url = await _org_with_projects(api, ["a", "b", "c"])
    body = (await api.client.get(url, headers=headers, params={"limit": 2, "page": 9})).json()
    assert body["data"] == []
    assert body["meta"] == {"page": 9, "limit": 2, "total": 3, "pages": 2}
