"""Who may do what: roles, principals, password and API-key hashing.

Person logins use argon2id password hashes. Lane devices use API keys of the form
``bxk_<key id>_<secret>``: the key id finds the stored record without a scan, and only a
SHA-256 of the high-entropy secret is stored, compared in constant time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bioexit.errors import AuthenticationError, ConfigError


class Role(enum.StrEnum):
    LANE_DEVICE = "lane-device"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``ports`` limits object access; ``all_ports`` lifts the limit."""

    subject: str
    kind: str  # "person" or "device"
    roles: frozenset[Role]
    ports: frozenset[str] = field(default_factory=frozenset)
    all_ports: bool = False

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)

    def may_access_port(self, port: str) -> bool:
        return self.all_ports or port in self.ports


_HASHER: PasswordHasher | None = None
MIN_PASSWORD_LENGTH = 12


def _hasher() -> PasswordHasher:
    global _HASHER  # built lazily: argon2 parameters are only needed once someone logs in
    if _HASHER is None:
        _HASHER = PasswordHasher()
    return _HASHER


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(
            "password too short", expected=f"at least {MIN_PASSWORD_LENGTH} characters", got=len(password)
        )
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


_API_KEY = re.compile(r"^bxk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class IssuedApiKey:
    """A new API key: ``token`` is shown once; only ``key_id`` and ``secret_hash`` are stored."""

    key_id: str
    token: str = field(repr=False)
    secret_hash: str


def issue_api_key() -> IssuedApiKey:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    key_id = "".join(secrets.choice(alphabet) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    return IssuedApiKey(key_id, f"bxk_{key_id}_{secret}", _secret_hash(secret))


def split_api_key(token: str) -> tuple[str, str]:
    """Return (key id, secret) or raise AuthenticationError without echoing the token."""
    match = _API_KEY.match(token)
    if match is None:
        raise AuthenticationError(
            "malformed API key", expected="bxk_<12 chars>_<43 chars>", got="another shape"
        )
    return match.group(1), match.group(2)


def api_key_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(_secret_hash(secret), stored_hash)


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
