"""Register, login, refresh rotation and reuse detection, logout, me — over HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from sqlalchemy import update

from modelplane_api.auth.models import User
from modelplane_api.security import Passwords, generate_jwt_key

from .conftest import PASSWORD, Api


async def test_register_login_and_me_return_the_same_user(api: Api) -> None:
    user = await api.register("ada")
    me = await api.client.get("/api/v1/auth/me", headers=user["headers"])
    assert me.status_code == 200
    assert me.json()["data"]["email"] == user["email"]
    assert "password_hash" not in me.json()["data"]


async def test_registering_an_email_twice_is_a_conflict(api: Api) -> None:
    user = await api.register("ada")
    again = await api.client.post(
        "/api/v1/auth/register",
        json={"email": user["email"].upper(), "password": PASSWORD, "display_name": "Ada"},
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_exists"


async def test_unknown_user_and_wrong_password_get_the_same_answer(api: Api) -> None:
    user = await api.register("ada")
    wrong = await api.client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": "wrong password"}
    )
    unknown = await api.client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]
    assert wrong.headers["www-authenticate"] == "Bearer"


async def test_refresh_rotates_and_the_old_token_is_spent(api: Api) -> None:
    user = await api.register("ada")
    first = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert first.status_code == 200
    new_pair = first.json()["data"]
    assert new_pair["refresh_token"] != user["refresh_token"]
    me = await api.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {new_pair['access_token']}"}
    )
    assert me.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(api: Api) -> None:
    user = await api.register("ada")
    rotated = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    newest = rotated.json()["data"]["refresh_token"]
    api.clock.now = api.clock() + timedelta(seconds=api.settings.refresh_reuse_grace_seconds + 1)

    reuse = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "refresh_token_reused"
    newest_after = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": newest})
    assert newest_after.status_code == 401
    assert newest_after.json()["error"]["message"] == "refresh token revoked"


async def test_a_concurrent_refresh_within_the_grace_window_still_succeeds(api: Api) -> None:
    user = await api.register("ada")
    first = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    api.clock.now = api.clock() + timedelta(seconds=1)
    second = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert first.status_code == second.status_code == 200
    both = {first.json()["data"]["refresh_token"], second.json()["data"]["refresh_token"]}
    assert len(both) == 2
    for token in both:  # neither sibling was revoked
        again = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": token})
        assert again.status_code == 200


async def test_logout_revokes_the_refresh_token(api: Api) -> None:
    user = await api.register("ada")
    out = await api.client.post(
        "/api/v1/auth/logout", json={"refresh_token": user["refresh_token"]}
    )
    assert out.status_code == 204
    after = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "invalid_token"


async def test_logout_also_revokes_the_access_token_it_was_sent_with(api: Api) -> None:
    user = await api.register("grace")
    other = await api.login(user["email"])  # another login's access token keeps working
    me = await api.client.get("/api/v1/auth/me", headers=user["headers"])
    assert me.status_code == 200
    out = await api.client.post(
        "/api/v1/auth/logout",
        headers=user["headers"],
        json={"refresh_token": user["refresh_token"]},
    )
    assert out.status_code == 204
    after = await api.client.get("/api/v1/auth/me", headers=user["headers"])
    assert after.status_code == 401
    assert after.json()["error"]["message"] == "access token revoked (signed out)"
    jti_ttl = await api.app.state.ctx.redis.ttl(
        "revoked-jti:" + api.app.state.ctx.signer.verify(user["access_token"], api.clock()).token_id
    )
    assert 0 < jti_ttl <= api.settings.access_token_ttl_seconds + api.settings.clock_skew_seconds
    still = await api.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {other['access_token']}"}
    )
    assert still.status_code == 200


async def test_logout_with_an_unknown_token_reveals_nothing(api: Api) -> None:
    out = await api.client.post("/api/v1/auth/logout", json={"refresh_token": "mpr_nope"})
    assert out.status_code == 204


async def test_an_unknown_refresh_token_is_rejected(api: Api) -> None:
    response = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": "mpr_x"})
    assert response.status_code == 401


async def test_an_expired_refresh_token_is_rejected(api: Api) -> None:
    user = await api.register("ada")
    api.clock.now = api.clock() + timedelta(seconds=api.settings.refresh_token_ttl_seconds + 1)
    response = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert response.status_code == 401


async def test_expired_access_token_is_rejected_over_http(api: Api) -> None:
    user = await api.register("ada")
    api.clock.now = api.clock() + timedelta(
        seconds=api.settings.access_token_ttl_seconds + api.settings.clock_skew_seconds + 1
    )
    response = await api.client.get("/api/v1/auth/me", headers=user["headers"])
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_token_of_another_key_ring_is_rejected_over_http(api: Api) -> None:
    user = await api.register("ada")
    other = json.loads(generate_jwt_key("test-1"))["private_key"]
    claims = jwt.decode(user["access_token"], options={"verify_signature": False})
    forged = jwt.encode(
        claims, other, algorithm="EdDSA", headers={"kid": "test-1", "typ": "at+jwt"}
    )
    response = await api.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


async def test_missing_or_non_bearer_credentials_are_401(api: Api) -> None:
    assert (await api.client.get("/api/v1/auth/me")).status_code == 401
    basic = await api.client.get("/api/v1/auth/me", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401


async def test_api_keys_cannot_use_user_only_endpoints(api: Api) -> None:
    admin = await api.register("admin")
    org = await api.create_org(admin)
    key = await api.create_api_key(admin, org["id"], "developer")
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert (await api.client.get("/api/v1/auth/me", headers=headers)).status_code == 403
    created = await api.client.post(
        "/api/v1/organizations", headers=headers, json={"slug": "from-a-key", "display_name": "x"}
    )
    assert created.status_code == 403


async def test_unknown_fields_in_a_body_are_refused(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/auth/register",
        json={
            "email": "m@example.com",
            "password": PASSWORD,
            "display_name": "M",
            "is_active": False,
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_two_truly_concurrent_refreshes_of_one_token_both_succeed(api: Api) -> None:
    user = await api.register("ada")
    body = {"refresh_token": user["refresh_token"]}
    first, second = await asyncio.gather(
        api.client.post("/api/v1/auth/refresh", json=body),
        api.client.post("/api/v1/auth/refresh", json=body),
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["data"]["refresh_token"] != second.json()["data"]["refresh_token"]


class CountingPasswords(Passwords):
    """Counts how often a hash is actually checked."""

    def __init__(self) -> None:
        super().__init__(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        self.checks = 0

    def verify(self, stored_hash: str | None, password: str) -> bool:
        self.checks += 1
        return super().verify(stored_hash, password)


async def test_login_for_an_unknown_email_still_checks_a_hash(api: Api) -> None:
    counting = CountingPasswords()
    api.app.state.ctx.passwords = counting
    response = await api.client.post(
        "/api/v1/auth/login", json={"email": "ghost@example.com", "password": "x"}
    )
    assert response.status_code == 401
    assert counting.checks == 1


async def test_a_deactivated_users_tokens_stop_working_everywhere(api: Api) -> None:
    user = await api.register("leaver")
    org = await api.create_org(user)
    async with api.app.state.ctx.sessions() as session:
        await session.execute(
            update(User).where(User.id == uuid.UUID(user["id"])).values(is_active=False)
        )
        await session.commit()
    me = await api.client.get("/api/v1/auth/me", headers=user["headers"])
    org_read = await api.client.get(f"/api/v1/organizations/{org['id']}", headers=user["headers"])
    audit = await api.client.get(
        "/api/v1/audit-events", headers=user["headers"], params={"organization_id": org["id"]}
    )
    assert (me.status_code, org_read.status_code, audit.status_code) == (401, 401, 401)
    assert org_read.json()["error"]["code"] == "invalid_token"


async def test_concurrent_registrations_of_one_email_give_one_user_and_conflicts(api: Api) -> None:
    # Every request passes the "email taken?" check before any commits; the unique index then
    # refuses all but one, and those must be the same 409 the check gives, never a 500.
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": "Race"}
    answers = await asyncio.gather(
        *(api.client.post("/api/v1/auth/register", json=body) for _ in range(8))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 7
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {
        "already_exists"
    }
