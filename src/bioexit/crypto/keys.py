"""Master keys: who holds them, and how a record's data key is wrapped under them.

A record's data key never leaves memory in plain form: a ``KeyProvider`` wraps it
under the current master key and names that key in ``WrappedKey.key_id``, so that
after a rotation the old master key is still found for records not yet re-wrapped.
A KMS or HSM fits the same Protocol: it returns its own opaque ``blob``.

Local providers wrap with AES-256-GCM rather than AES key wrap (RFC 3394): GCM takes
associated data, so the wrap binds the master key id and the record id (a wrapped
key moved to another record fails authentication), and it is the same primitive
(and the same audited code path) as the data encryption. A random 96-bit nonce is
safe for far more wraps per master key (2^32) than a border system makes between
rotations.

Keyring JSON, for ``FileKeyProvider`` (mode 0600 or stricter) and ``EnvKeyProvider``::

    {"current": "mk-2", "keys": {"mk-1": "<base64 of 32 bytes>", "mk-2": "..."}}

Parsing is by hand, not pydantic: a validation error there echoes the input, and
the input is key material.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import stat
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bioexit.errors import ConfigError, CryptoError, IntegrityError, KeyUnavailableError

MASTER_KEY_BYTES = 32
DATA_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MASTER_KEYS_ENV = "BIOEXIT_MASTER_KEYS"
# At most 40 characters: base64 of a 32-byte key is 43 or more, so an id can never be a key,
# and quoting an id in a message can never quote a key.
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,39}")

_WRAP_LABEL = b"bioexit.wrap.v1"
_WRAPPED_BYTES = NONCE_BYTES + DATA_KEY_BYTES + TAG_BYTES


def length_prefixed(data: bytes) -> bytes:
    """Length-prefixed, so that adjacent AAD fields cannot be re-split."""
    return struct.pack(">I", len(data)) + data


def valid_key_id(key_id: object) -> bool:
    return isinstance(key_id, str) and KEY_ID_PATTERN.fullmatch(key_id) is not None


def show_key_id(key_id: object) -> str:
    """A key id fit for a message: quoted if valid, else only its size (it may be a misplaced key)."""
    if valid_key_id(key_id):
        return repr(key_id)
    if isinstance(key_id, str):
        return f"an invalid id of {len(key_id)} characters"
    return f"a {type(key_id).__name__}"


def _require_key_id(key_id: object, where: str) -> str:
    if not valid_key_id(key_id):
        raise ConfigError(
            f"invalid master key id in {where}",
            expected=f"1–40 characters matching {KEY_ID_PATTERN.pattern}",
            got=show_key_id(key_id),
        )
    assert isinstance(key_id, str)
    return key_id


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under the master key ``key_id``; ``blob`` is opaque to everyone else."""

    key_id: str
    blob: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"WrappedKey(key_id={self.key_id!r}, blob=<{len(self.blob)} bytes>)"


@runtime_checkable
class KeyProvider(Protocol):
    """Holds master keys; wraps data keys under the current one, unwraps under any it holds."""

    @property
    def current_key_id(self) -> str: ...

    def wrap(self, data_key: bytes, *, context: bytes) -> WrappedKey:
        """Encrypt ``data_key`` under the current master key, bound to ``context`` (the record id)."""
        ...

    def unwrap(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        """The data key; KeyUnavailableError for an unknown key id, IntegrityError if altered."""
        ...


def new_key_id() -> str:
    """A sortable, unique master key id: ``mk-<UTC time>-<random>``."""
    return f"mk-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class Keyring:
    """Master keys by id and the id of the one new data keys are wrapped under."""

    current: str
    keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        keys: dict[str, bytes] = {}
        for key_id, key in dict(self.keys).items():
            _require_key_id(key_id, "keyring")
            if not isinstance(key, bytes | bytearray) or len(key) != MASTER_KEY_BYTES:
                size = f"{len(key)} bytes" if isinstance(key, bytes | bytearray) else type(key).__name__
                raise ConfigError(
                    f"master key {key_id!r} has the wrong length",
                    expected=f"{MASTER_KEY_BYTES} bytes (AES-256)",
                    got=size,
                )
            keys[key_id] = bytes(key)
        if not isinstance(self.current, str) or self.current not in keys:
            raise ConfigError(
                "the current master key is not in the keyring",
                expected=f"one of {sorted(keys)}",
                got=show_key_id(self.current),
            )
        object.__setattr__(self, "keys", MappingProxyType(keys))

    def __repr__(self) -> str:
        return f"Keyring(current={self.current!r}, key_ids={sorted(self.keys)})"

    def with_new_key(self, key_id: str | None = None) -> Keyring:
        """A copy with a fresh random master key, made current (the first step of a rotation)."""
        key_id = _require_key_id(new_key_id() if key_id is None else key_id, "new key")
        if key_id in self.keys:
            raise ConfigError("master key id already in use", expected="a new id", got=show_key_id(key_id))
        return Keyring(key_id, {**self.keys, key_id: secrets.token_bytes(MASTER_KEY_BYTES)})

    def without_key(self, key_id: str) -> Keyring:
        """A copy without ``key_id``: the last step of a rotation, once nothing is wrapped under it.

        Records still wrapped under a removed key become unreadable (crypto-erase of them all).
        """
        if key_id == self.current:
            raise ConfigError(
                "cannot remove the current master key", expected="a retired id", got=show_key_id(key_id)
            )
        if key_id not in self.keys:
            raise ConfigError(
                "no such master key", expected=f"one of {sorted(self.keys)}", got=show_key_id(key_id)
            )
        return Keyring(self.current, {k: v for k, v in self.keys.items() if k != key_id})

    def to_json(self) -> str:
        """The keyring file's text. It holds every master key: write it only with ``write_keyring``."""
        body = {
            "current": self.current,
            "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
        }
        return json.dumps(body, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "keyring") -> Keyring:
        """Parse keyring JSON; ConfigError that never quotes the input (it is key material)."""

        def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            names = [name for name, _ in pairs]
            if len(set(names)) != len(names):
                raise ConfigError(f"{source} repeats a name", expected="unique names", got="a duplicate")
            return dict(pairs)

        try:
            body = json.loads(text, object_pairs_hook=no_duplicates)
        except json.JSONDecodeError as exc:
            # exc.doc is the whole input: keep it out of the message and the chain.
            raise ConfigError(
                f"{source} is not valid JSON",
                expected='{"current": id, "keys": {id: base64}}',
                got=f"{exc.msg} at line {exc.lineno} column {exc.colno}",
            ) from None
        if not isinstance(body, dict) or set(body) != {"current", "keys"}:
            names = ", ".join(show_key_id(name) for name in sorted(body)) if isinstance(body, dict) else ""
            got = f"names [{names}]" if isinstance(body, dict) else f"a JSON {type(body).__name__}"
            raise ConfigError(
                f"{source} has the wrong shape", expected='exactly the names "current" and "keys"', got=got
            )
        current, encoded = body["current"], body["keys"]
        if not isinstance(encoded, dict) or not encoded:
            raise ConfigError(
                f"{source}: keys must map ids to base64 strings",
                expected="a non-empty JSON object",
                got="an empty object" if isinstance(encoded, dict) else f"a JSON {type(encoded).__name__}",
            )
        keys: dict[str, bytes] = {}
        for key_id, value in encoded.items():
            _require_key_id(key_id, source)
            if not isinstance(value, str):
                raise ConfigError(
                    f"{source}: master key {key_id!r} is not a string",
                    expected="base64 text",
                    got=f"a JSON {type(value).__name__}",
                )
            try:
                keys[key_id] = base64.b64decode(value.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise ConfigError(
                    f"{source}: master key {key_id!r} is not valid base64",
                    expected=f"standard base64 of {MASTER_KEY_BYTES} bytes",
                    got=f"{len(value)} characters that do not decode",
                ) from None
        if not isinstance(current, str):
            raise ConfigError(f"{source}: current must be a key id", expected="a string", got="another type")
        return cls(current, keys)


def generate_keyring(key_id: str | None = None) -> Keyring:
    """A new keyring holding one fresh random master key."""
    key_id = _require_key_id(new_key_id() if key_id is None else key_id, "new key")
    return Keyring(key_id, {key_id: secrets.token_bytes(MASTER_KEY_BYTES)})


def _read_private_file(path: Path) -> str:
    """Read a secret file, refusing it (before reading) if group or others can access it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ConfigError(
            "cannot open keyring file", expected="a readable file", got=f"{path} ({exc.strerror})"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("keyring is not a regular file", expected="a file", got=str(path))
        if info.st_mode & 0o077:
            raise ConfigError(
                f"keyring file {path} is accessible to group or others",
                expected=f"mode 0600 or 0400 (chmod 600 {path})",
                got=f"mode {stat.S_IMODE(info.st_mode):04o}",
            )
        data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("keyring file is not UTF-8", expected="JSON text", got=str(path)) from None


def load_keyring(path: str | os.PathLike[str]) -> Keyring:
    path = Path(path)
    return Keyring.from_json(_read_private_file(path), source=f"keyring file {path}")


def write_keyring(path: str | os.PathLike[str], keyring: Keyring) -> None:
    """Write atomically with mode 0600: a temporary file in the same folder, then a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)  # the umask may have narrowed, never widened, it
            handle.write(keyring.to_json().encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def add_master_key(path: str | os.PathLike[str], key_id: str | None = None) -> str:
    """Add a fresh master key to a keyring file and make it current; return its id.

    Running services keep using the keys they loaded: restart them (or build a new
    provider), then ``rewrap`` the records and finally retire the old key.
    """
    keyring = load_keyring(path).with_new_key(key_id)
    write_keyring(path, keyring)
    return keyring.current


class StaticKeyProvider:
    """Master keys held in memory: the core that the file and environment providers load into."""

    __slots__ = ("_ciphers", "_current")

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        keyring = Keyring(current, keys)
        self._current = keyring.current
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> StaticKeyProvider:
        return cls(keyring.keys, keyring.current)

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._ciphers))

    def _ids(self) -> str:
        return f"current={self._current!r}, key_ids={list(self.key_ids)}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._ids()})"

    @staticmethod
    def _aad(key_id: str, context: bytes) -> bytes:
        return _WRAP_LABEL + length_prefixed(key_id.encode("ascii")) + length_prefixed(context)

    def wrap(self, data_key: bytes, *, context: bytes) -> WrappedKey:
        if not isinstance(data_key, bytes) or len(data_key) != DATA_KEY_BYTES:
            size = f"{len(data_key)} bytes" if isinstance(data_key, bytes) else type(data_key).__name__
            raise CryptoError("data key has the wrong length", expected=f"{DATA_KEY_BYTES} bytes", got=size)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, data_key, self._aad(self._current, context))
        return WrappedKey(self._current, nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        cipher = self._ciphers.get(wrapped.key_id)
        if cipher is None:
            raise KeyUnavailableError(
                "master key not held by this provider (retired, or never loaded)",
                expected=f"one of {list(self.key_ids)}",
                got=show_key_id(wrapped.key_id),
            )
        blob = wrapped.blob
        if len(blob) != _WRAPPED_BYTES:
            raise IntegrityError(
                "wrapped data key has the wrong length",
                expected=f"{_WRAPPED_BYTES} bytes",
                got=f"{len(blob)}",
            )
        try:
            return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad(wrapped.key_id, context))
        except InvalidTag:
            raise IntegrityError(
                f"wrapped data key failed authentication under master key {wrapped.key_id!r}",
                expected="a key wrapped for this record under this master key",
                got="altered bytes, another record's key, or another key id",
            ) from None


class FileKeyProvider(StaticKeyProvider):
    """Master keys from a keyring file (mode 0600 or stricter), read once, at construction."""

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        keyring = load_keyring(self.path)
        super().__init__(keyring.keys, keyring.current)

    def __repr__(self) -> str:
        return f"FileKeyProvider(path={str(self.path)!r}, {self._ids()})"


class EnvKeyProvider(StaticKeyProvider):
    """Master keys from keyring JSON in an environment variable, read once, at construction."""

    __slots__ = ("env_var",)

    def __init__(self, env_var: str = MASTER_KEYS_ENV, *, environ: Mapping[str, str] | None = None) -> None:
        self.env_var = env_var
        text = (os.environ if environ is None else environ).get(env_var)
        if not text:
            raise ConfigError(
                "master keys not configured", expected=f"keyring JSON in ${env_var}", got="unset or empty"
            )
        keyring = Keyring.from_json(text, source=f"${env_var}")
        super().__init__(keyring.keys, keyring.current)

    def __repr__(self) -> str:
        return f"EnvKeyProvider(env_var={self.env_var!r}, {self._ids()})"
