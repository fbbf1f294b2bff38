"""Credentials persist in the records database (SQLite and PostgreSQL) and hold only hashes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from bioexit.errors import AuthenticationError
from bioexit.records.db import database_url, make_engine, upgrade
from bioexit.service.auth import Role
from bioexit.service.credentials import Authenticator
from bioexit.service.sql_credentials import SqlCredentialStore
from bioexit.settings import RecordsConfig

PASSWORD = "correct horse battery"


@pytest.fixture
def engine(records_config: RecordsConfig) -> Iterator[Engine]:
    engine = make_engine(database_url(records_config))
    upgrade(engine)
    yield engine
    engine.dispose()


def test_users_keys_and_sessions_survive_a_new_store(engine: Engine) -> None:
    now = [1000.0]
    first = Authenticator(SqlCredentialStore(engine), lambda: now[0], session_seconds=60)
    first.add_user("olivia", PASSWORD, frozenset({Role.OFFICER, Role.SUPERVISOR}), frozenset({"P1", "P2"}))
    issued = first.add_device("lane-7", frozenset({"P1"}))
    token = first.login("olivia", PASSWORD)

    again = Authenticator(SqlCredentialStore(engine), lambda: now[0], session_seconds=60)
    person = again.principal(token)
    assert person.roles == {Role.OFFICER, Role.SUPERVISOR} and person.ports == {"P1", "P2"}
    device = again.principal(issued.token)
    assert device.subject == "lane-7" and device.roles == {Role.LANE_DEVICE}

    again.revoke_device_key(issued.key_id)
    with pytest.raises(AuthenticationError):
        again.principal(issued.token)
    now[0] += 61
    with pytest.raises(AuthenticationError, match="expired"):
        again.principal(token)
    assert [u.username for u in SqlCredentialStore(engine).users()] == ["olivia"]


def test_no_secret_is_stored(engine: Engine) -> None:
    authenticator = Authenticator(SqlCredentialStore(engine), lambda: 0.0)
    authenticator.add_user("olivia", PASSWORD, frozenset({Role.OFFICER}))
    issued = authenticator.add_device("lane-7", frozenset({"P1"}))
    token = authenticator.login("olivia", PASSWORD)
    with engine.connect() as connection:
        rows = [
            str(tuple(row))
            for table in ("users", "api_keys", "login_sessions")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        ]
    dump = "\n".join(rows)
    assert "$argon2id$" in dump
    secret = issued.token.split("_", 2)[2]  # bxk_<id>_<secret>; the secret itself may hold "_"
    assert len(secret) == 43
    for plain in (PASSWORD, secret, token):
        assert plain not in dump
