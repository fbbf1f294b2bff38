"""Stored credentials: users, device API keys and login sessions, behind one small protocol.

``MemoryCredentialStore`` ships for tests and the demo; the database-backed store implements the
same protocol. Only hashes are stored: argon2id for passwords, SHA-256 for key secrets and
session tokens (both are 256-bit random, so a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from bioexit.errors import AuthenticationError, ConfigError
from bioexit.service.auth import (
    IssuedApiKey,
    Principal,
    Role,
    api_key_matches,
    hash_password,
    issue_api_key,
    split_api_key,
    verify_password,
)


@dataclass(frozen=True)
class UserRecord:
    username: str
    password_hash: str = field(repr=False)
    roles: frozenset[Role]
    ports: frozenset[str] = frozenset()
    all_ports: bool = False
    disabled: bool = False

    def principal(self) -> Principal:
        return Principal(self.username, "person", self.roles, self.ports, self.all_ports)


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    device: str
    secret_hash: str = field(repr=False)
    ports: frozenset[str]
    revoked: bool = False

    def principal(self) -> Principal:
        return Principal(self.device, "device", frozenset({Role.LANE_DEVICE}), self.ports)


@dataclass(frozen=True)
class SessionRecord:
    token_hash: str
    username: str
    expires_at: float


class CredentialStore(Protocol):
    def get_user(self, username: str) -> UserRecord | None: ...
    def put_user(self, user: UserRecord) -> None: ...
    def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...
    def put_api_key(self, key: ApiKeyRecord) -> None: ...
    def get_session(self, token_hash: str) -> SessionRecord | None: ...
    def put_session(self, session: SessionRecord) -> None: ...
    def delete_session(self, token_hash: str) -> None: ...


class MemoryCredentialStore:
    def __init__(self) -> None:
        self._users: dict[str, UserRecord] = {}
        self._keys: dict[str, ApiKeyRecord] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._lock = threading.Lock()

    def get_user(self, username: str) -> UserRecord | None:
        return self._users.get(username)

    def put_user(self, user: UserRecord) -> None:
        with self._lock:
            self._users[user.username] = user

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        return self._keys.get(key_id)

    def put_api_key(self, key: ApiKeyRecord) -> None:
        with self._lock:
            self._keys[key.key_id] = key

    def get_session(self, token_hash: str) -> SessionRecord | None:
        return self._sessions.get(token_hash)

    def put_session(self, session: SessionRecord) -> None:
        with self._lock:
            self._sessions[session.token_hash] = session

    def delete_session(self, token_hash: str) -> None:
        with self._lock:
            self._sessions.pop(token_hash, None)


SESSION_PREFIX = "bxs_"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Authenticator:
    """Turns a bearer token into a Principal, and passwords into sessions.

    ``clock`` returns seconds (time.time in production, a fake in tests) so session expiry
    can be tested without waiting.
    """

    def __init__(
        self, store: CredentialStore, clock: Callable[[], float], session_seconds: float = 8 * 3600
    ) -> None:
        self.store = store
        self.clock = clock
        self.session_seconds = session_seconds

    def add_user(
        self,
        username: str,
        password: str,
        roles: frozenset[Role],
        ports: frozenset[str] = frozenset(),
        all_ports: bool = False,
    ) -> UserRecord:
        if not roles:
            raise ConfigError("a user needs a role", expected=f"one of {[r.value for r in Role]}", got="none")
        user = UserRecord(username, hash_password(password), roles, ports, all_ports)
        self.store.put_user(user)
        return user

    def add_device(self, device: str, ports: frozenset[str]) -> IssuedApiKey:
        if not ports:
            raise ConfigError("a lane device belongs to a port", expected="at least one port", got="none")
        issued = issue_api_key()
        self.store.put_api_key(ApiKeyRecord(issued.key_id, device, issued.secret_hash, ports))
        return issued

    def revoke_device_key(self, key_id: str) -> None:
        record = self.store.get_api_key(key_id)
        if record is None:
            raise ConfigError("unknown API key", expected="an issued key id", got=key_id)
        self.store.put_api_key(replace(record, revoked=True))

    def login(self, username: str, password: str) -> str:
        """Return a new session token; the same error for unknown user and wrong password."""
        user = self.store.get_user(username)
        if user is None or user.disabled or not verify_password(user.password_hash, password):
            raise AuthenticationError("wrong username or password")
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        expires = self.clock() + self.session_seconds
        self.store.put_session(SessionRecord(_token_hash(token), username, expires))
        return token

    def logout(self, token: str) -> None:
        self.store.delete_session(_token_hash(token))

    def principal(self, token: str) -> Principal:
        if token.startswith(SESSION_PREFIX):
            session = self.store.get_session(_token_hash(token))
            if session is None or session.expires_at <= self.clock():
                raise AuthenticationError("session unknown or expired; log in again")
            user = self.store.get_user(session.username)
            if user is None or user.disabled:
                raise AuthenticationError("session user no longer exists")
            return user.principal()
        key_id, secret = split_api_key(token)
        record = self.store.get_api_key(key_id)
        if record is None or record.revoked or not api_key_matches(secret, record.secret_hash):
            raise AuthenticationError("unknown or revoked API key")
        return record.principal()
