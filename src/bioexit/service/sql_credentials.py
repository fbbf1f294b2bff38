"""Credentials in the records database (tables ``users``, ``api_keys``, ``login_sessions``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from bioexit.records import models as m
from bioexit.service.auth import Role
from bioexit.service.credentials import ApiKeyRecord, SessionRecord, UserRecord


def _split(text: str) -> frozenset[str]:
    return frozenset(part for part in text.split(",") if part)


def _join(values: frozenset[str]) -> str:
    return ",".join(sorted(values))


def _user(row: m.User) -> UserRecord:
    roles = frozenset(Role(r) for r in _split(row.roles))
    return UserRecord(row.username, row.password_hash, roles, _split(row.ports), row.all_ports, row.disabled)


def _api_key(row: m.ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(row.key_id, row.device, row.secret_hash, _split(row.ports), row.revoked)


class SqlCredentialStore:
    """The ``CredentialStore`` protocol over SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_user(self, username: str) -> UserRecord | None:
        with Session(self.engine) as session:
            row = session.get(m.User, username)
            return None if row is None else _user(row)

    def put_user(self, user: UserRecord) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(m.User, user.username) or m.User(
                username=user.username, created_at=datetime.now(UTC)
            )
            row.password_hash = user.password_hash
            row.roles = _join(frozenset(r.value for r in user.roles))
            row.ports = _join(user.ports)
            row.all_ports = user.all_ports
            row.disabled = user.disabled
            session.add(row)

    def users(self) -> list[UserRecord]:
        with Session(self.engine) as session:
            return [_user(row) for row in session.scalars(select(m.User).order_by(m.User.username))]

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        with Session(self.engine) as session:
            row = session.get(m.ApiKey, key_id)
            return None if row is None else _api_key(row)

    def put_api_key(self, key: ApiKeyRecord) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(m.ApiKey, key.key_id) or m.ApiKey(
                key_id=key.key_id, created_at=datetime.now(UTC)
            )
            row.device = key.device
            row.secret_hash = key.secret_hash
            row.ports = _join(key.ports)
            row.revoked = key.revoked
            session.add(row)

    def api_keys(self) -> list[ApiKeyRecord]:
        with Session(self.engine) as session:
            return [_api_key(row) for row in session.scalars(select(m.ApiKey).order_by(m.ApiKey.device))]

    def get_session(self, token_hash: str) -> SessionRecord | None:
        with Session(self.engine) as session:
            row = session.get(m.LoginSession, token_hash)
            return None if row is None else SessionRecord(row.token_hash, row.username, row.expires_at)

    def put_session(self, record: SessionRecord) -> None:
        with Session(self.engine) as session, session.begin():
            session.merge(
                m.LoginSession(
                    token_hash=record.token_hash, username=record.username, expires_at=record.expires_at
                )
            )

    def delete_session(self, token_hash: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(m.LoginSession).where(m.LoginSession.token_hash == token_hash))
