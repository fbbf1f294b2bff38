"""Envelope encryption of biometric data at rest: one data key per sealed record.

``seal`` draws a fresh 256-bit data key, encrypts with AES-256-GCM under it, and
has the key provider wrap the data key under the current master key, bound to the
record id. The associated data binds the record id and the kind ("image",
"template", ...), so a sealed blob moved to another record or kind fails to open.

Rotation (``rewrap``) re-encrypts only the 60-byte wrapped key; the ciphertext and
nonce are unchanged, so no plaintext is ever written during a rotation.

Crypto-erase: the wrapped data key is the only way to the data. Destroying it
(``erase`` puts a tombstone in its place; a store may also null the column or
delete the row) leaves the ciphertext unreadable under every master key.

Binary layout of ``Sealed.to_bytes()`` (layout 1; integers big-endian)::

    magic        4  b"BXSD"
    layout       u8 1
    algorithm    u8 1 = A256GCM (AES-256-GCM, 96-bit nonce, 128-bit tag)
    record_id    u16 length + UTF-8
    key_id       u8 length + ASCII (master key id)
    wrapped_key  u16 length + bytes (provider-specific; local providers: nonce ‖ ct ‖ tag, 60 bytes)
    nonce        u8 length + bytes (12)
    ciphertext   u32 length + bytes (ends with the 16-byte GCM tag)

Nothing may follow. Every byte is authenticated: the record id and algorithm by
the data AAD, the key id and record id by the wrap AAD, the rest by GCM.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bioexit.crypto.keys import (
    DATA_KEY_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    KeyProvider,
    WrappedKey,
    length_prefixed,
    show_key_id,
    valid_key_id,
)
from bioexit.errors import CryptoError, IntegrityError, KeyUnavailableError

ALGORITHM: Final = "A256GCM"
LAYOUT_VERSION: Final = 1
KIND_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{0,31}")
MAX_RECORD_ID_BYTES = 1024
# Stands where the wrapped data key was; no provider ever produces it.
ERASED_KEY: Final = b"\x00bioexit:crypto-erased\x00"

_MAGIC = b"BXSD"
_ALGORITHM_IDS = {ALGORITHM: 1}
_ALGORITHM_NAMES = {number: name for name, number in _ALGORITHM_IDS.items()}
_SEAL_LABEL = b"bioexit.seal.v1"
_TEMPLATE_MAGIC = b"BXTF"
_TEMPLATE_VERSION = 1
_TEMPLATE_F4LE = 1
_TEMPLATE_MAX_NDIM = 8


def _record_id_bytes(record_id: object, error: type[CryptoError] = CryptoError) -> bytes:
    if isinstance(record_id, str) and record_id:
        try:
            encoded = record_id.encode("utf-8")
        except UnicodeEncodeError:
            encoded = b""
        if 0 < len(encoded) <= MAX_RECORD_ID_BYTES:
            return encoded
    raise error(
        "invalid record id",
        expected=f"a non-empty string of at most {MAX_RECORD_ID_BYTES} UTF-8 bytes",
        got=record_id,
    )


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str) or KIND_PATTERN.fullmatch(kind) is None:
        raise CryptoError(
            "invalid kind label", expected=f"a short label matching {KIND_PATTERN.pattern}", got=kind
        )
    return kind


def _aad(algorithm: str, record_id: bytes, kind: str) -> bytes:
    return (
        _SEAL_LABEL
        + bytes([_ALGORITHM_IDS[algorithm]])
        + length_prefixed(record_id)
        + length_prefixed(kind.encode("ascii"))
    )


@dataclass(frozen=True, slots=True, repr=False)
class Sealed:
    """One record's encrypted data and everything needed to open it, except the master key."""

    record_id: str
    key_id: str
    wrapped_key: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)
    algorithm: str = ALGORITHM

    def __post_init__(self) -> None:
        _record_id_bytes(self.record_id, IntegrityError)
        if not valid_key_id(self.key_id):
            raise IntegrityError(
                "sealed record names an invalid master key id",
                expected="a key id",
                got=show_key_id(self.key_id),
            )
        if self.algorithm not in _ALGORITHM_IDS:
            raise IntegrityError(
                "unknown algorithm", expected=" or ".join(_ALGORITHM_IDS), got=self.algorithm
            )
        for name, value, low, high in (
            ("wrapped_key", self.wrapped_key, 1, 0xFFFF),
            ("nonce", self.nonce, NONCE_BYTES, NONCE_BYTES),
            ("ciphertext", self.ciphertext, TAG_BYTES, 0xFFFFFFFF),
        ):
            if not isinstance(value, bytes) or not low <= len(value) <= high:
                got = f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
                raise IntegrityError(f"sealed {name} is malformed", expected=f"{low}…{high} bytes", got=got)

    def __repr__(self) -> str:
        return (
            f"Sealed(record_id={self.record_id!r}, key_id={self.key_id!r}, algorithm={self.algorithm!r}, "
            f"wrapped_key=<{len(self.wrapped_key)} bytes>, nonce=<{len(self.nonce)} bytes>, "
            f"ciphertext=<{len(self.ciphertext)} bytes>, erased={self.erased})"
        )

    @property
    def wrapped(self) -> WrappedKey:
        return WrappedKey(self.key_id, self.wrapped_key)

    @property
    def erased(self) -> bool:
        """True once ``erase`` has destroyed the data key: the data can never be opened again."""
        return self.wrapped_key == ERASED_KEY

    def to_bytes(self) -> bytes:
        record_id = self.record_id.encode("utf-8")
        key_id = self.key_id.encode("ascii")
        return b"".join(
            (
                _MAGIC,
                struct.pack(">BB", LAYOUT_VERSION, _ALGORITHM_IDS[self.algorithm]),
                struct.pack(">H", len(record_id)),
                record_id,
                struct.pack(">B", len(key_id)),
                key_id,
                struct.pack(">H", len(self.wrapped_key)),
                self.wrapped_key,
                struct.pack(">B", len(self.nonce)),
                self.nonce,
                struct.pack(">I", len(self.ciphertext)),
                self.ciphertext,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Sealed:
        """Parse ``to_bytes`` output; IntegrityError for anything else (never echoes the input)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise IntegrityError("not a sealed record", expected="bytes", got=type(data).__name__)
        reader = _Reader(bytes(data), "sealed record")
        if reader.take(len(_MAGIC), "magic") != _MAGIC:
            raise IntegrityError("not a sealed record", expected=f"magic {_MAGIC!r}", got="other bytes")
        layout = reader.uint(1, "layout")
        if layout != LAYOUT_VERSION:
            raise IntegrityError("unsupported sealed layout", expected=str(LAYOUT_VERSION), got=str(layout))
        number = reader.uint(1, "algorithm")
        if number not in _ALGORITHM_NAMES:
            raise IntegrityError(
                "unknown algorithm id", expected=str(sorted(_ALGORITHM_NAMES)), got=str(number)
            )
        try:
            record_id = reader.field(2, "record_id").decode("utf-8")
            key_id = reader.field(1, "key_id").decode("ascii")
        except UnicodeDecodeError:
            raise IntegrityError(
                "sealed record id or key id is not text", expected="UTF-8", got="bad bytes"
            ) from None
        wrapped_key = reader.field(2, "wrapped_key")
        nonce = reader.field(1, "nonce")
        ciphertext = reader.field(4, "ciphertext")
        reader.finish()
        return cls(record_id, key_id, wrapped_key, nonce, ciphertext, _ALGORITHM_NAMES[number])


class _Reader:
    """Bounds-checked reads; running short is an IntegrityError, never an IndexError."""

    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, what: str) -> None:
        self._data, self._pos, self._what = data, 0, what

    def take(self, size: int, name: str) -> bytes:
        left = len(self._data) - self._pos
        if size > left:
            raise IntegrityError(
                f"{self._what} is truncated in {name}",
                expected=f"{size} bytes at offset {self._pos}",
                got=f"{left}",
            )
        self._pos += size
        return self._data[self._pos - size : self._pos]

    def uint(self, size: int, name: str) -> int:
        return int.from_bytes(self.take(size, name), "big")

    def field(self, size: int, name: str) -> bytes:
        return self.take(self.uint(size, f"{name} length"), name)

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise IntegrityError(
                f"{self._what} has trailing bytes",
                expected=f"{self._pos} bytes",
                got=f"{len(self._data)}",
            )


def _check_record(sealed: Sealed, record_id: str) -> bytes:
    encoded = _record_id_bytes(record_id)
    if sealed.record_id != record_id:
        raise IntegrityError(
            "sealed data belongs to another record", expected=repr(record_id), got=sealed.record_id
        )
    return encoded


def _data_key(sealed: Sealed, record_id: bytes, provider: KeyProvider) -> bytes:
    if sealed.erased:
        raise KeyUnavailableError(
            f"data key destroyed (crypto-erased): record {sealed.record_id!r} can never be opened",
            expected="a wrapped data key",
            got="the erase tombstone",
        )
    data_key = provider.unwrap(sealed.wrapped, context=record_id)
    if len(data_key) != DATA_KEY_BYTES:
        raise IntegrityError(
            "unwrapped data key has the wrong length", expected=f"{DATA_KEY_BYTES} bytes", got="other"
        )
    return data_key


def seal(plaintext: bytes, *, record_id: str, kind: str, provider: KeyProvider) -> Sealed:
    """Encrypt ``plaintext`` under a fresh data key, wrapped by the provider's current master key."""
    if not isinstance(plaintext, bytes | bytearray | memoryview):
        raise CryptoError("only bytes can be sealed", expected="bytes", got=type(plaintext).__name__)
    encoded = _record_id_bytes(record_id)
    _check_kind(kind)
    data_key = AESGCM.generate_key(bit_length=8 * DATA_KEY_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, bytes(plaintext), _aad(ALGORITHM, encoded, kind))
    wrapped = provider.wrap(data_key, context=encoded)
    return Sealed(record_id, wrapped.key_id, wrapped.blob, nonce, ciphertext, ALGORITHM)


def open_sealed(sealed: Sealed, *, record_id: str, kind: str, provider: KeyProvider) -> bytes:
    """The plaintext; IntegrityError if anything (record, kind, bytes) differs from what was sealed.

    KeyUnavailableError if the master key is not held by ``provider`` or the record was erased.
    """
    encoded = _check_record(sealed, record_id)
    _check_kind(kind)
    data_key = _data_key(sealed, encoded, provider)
    try:
        return AESGCM(data_key).decrypt(
            sealed.nonce, sealed.ciphertext, _aad(sealed.algorithm, encoded, kind)
        )
    except InvalidTag:
        raise IntegrityError(
            f"sealed data of record {record_id!r} failed authentication",
            expected=f"data sealed as {kind!r}",
            got="altered ciphertext or nonce, or data sealed as another kind",
        ) from None


def needs_rewrap(sealed: Sealed, provider: KeyProvider) -> bool:
    """True when the data key is wrapped under a master key other than the provider's current one."""
    return not sealed.erased and sealed.key_id != provider.current_key_id


def rewrap(sealed: Sealed, *, record_id: str, provider: KeyProvider) -> Sealed:
    """Re-wrap the data key under the provider's current master key; nonce and ciphertext are kept.

    ``provider`` must hold both the old and the current key. Already current, or erased
    (no data key left to re-wrap): ``sealed`` is returned unchanged.
    """
    encoded = _check_record(sealed, record_id)
    if not needs_rewrap(sealed, provider):
        return sealed
    wrapped = provider.wrap(_data_key(sealed, encoded, provider), context=encoded)
    return replace(sealed, key_id=wrapped.key_id, wrapped_key=wrapped.blob)


def erase(sealed: Sealed) -> Sealed:
    """A copy whose data key is destroyed: the ciphertext stays, and nothing can ever open it.

    Storing this copy (or nulling the wrapped key, or deleting the row) is the erase;
    the old wrapped key must not survive elsewhere (backups, logs, replicas).
    """
    return replace(sealed, wrapped_key=ERASED_KEY)


def _template_bytes(vector: npt.NDArray[np.float32]) -> bytes:
    array = np.asarray(vector)
    if array.dtype.kind != "f" or array.dtype.itemsize != 4:
        raise CryptoError(
            "a template must be a float32 array", expected="dtype float32", got=str(array.dtype)
        )
    if not 1 <= array.ndim <= _TEMPLATE_MAX_NDIM or array.size == 0:
        raise CryptoError(
            "a template must be a non-empty array",
            expected=f"1 to {_TEMPLATE_MAX_NDIM} dimensions, at least one value",
            got=f"shape {array.shape}",
        )
    header = _TEMPLATE_MAGIC + struct.pack(">BBB", _TEMPLATE_VERSION, _TEMPLATE_F4LE, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype="<f4").tobytes()


def _template_array(payload: bytes) -> npt.NDArray[np.float32]:
    reader = _Reader(payload, "sealed template")
    magic = reader.take(len(_TEMPLATE_MAGIC), "magic")
    version, dtype, ndim = reader.uint(1, "version"), reader.uint(1, "dtype"), reader.uint(1, "ndim")
    if (magic, version, dtype) != (_TEMPLATE_MAGIC, _TEMPLATE_VERSION, _TEMPLATE_F4LE) or not (
        1 <= ndim <= _TEMPLATE_MAX_NDIM
    ):
        raise IntegrityError(
            "sealed payload is not a template", expected="a float32 template, layout 1", got="another payload"
        )
    shape = tuple(reader.uint(4, "shape") for _ in range(ndim))
    count = int(np.prod(shape, dtype=np.int64))
    if count == 0:
        raise IntegrityError("sealed template is empty", expected="at least one value", got=f"shape {shape}")
    values = reader.take(4 * count, "values")
    reader.finish()
    return np.frombuffer(values, dtype="<f4").astype(np.float32).reshape(shape)


def seal_template(
    vector: npt.NDArray[np.float32], *, record_id: str, provider: KeyProvider, kind: str = "template"
) -> Sealed:
    """Seal a float32 template; its dtype and shape travel inside the ciphertext."""
    return seal(_template_bytes(vector), record_id=record_id, kind=kind, provider=provider)


def open_template(
    sealed: Sealed, *, record_id: str, provider: KeyProvider, kind: str = "template"
) -> npt.NDArray[np.float32]:
    """A fresh float32 array with the sealed shape; IntegrityError if the payload is not a template."""
    return _template_array(open_sealed(sealed, record_id=record_id, kind=kind, provider=provider))
