from __future__ import annotations

import base64
import io
import os
import stat
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bioexit.crypto import (
    ERASED_KEY,
    EnvKeyProvider,
    FileKeyProvider,
    KeyProvider,
    Keyring,
    Sealed,
    StaticKeyProvider,
    WrappedKey,
    add_master_key,
    erase,
    generate_keyring,
    load_keyring,
    needs_rewrap,
    open_sealed,
    open_template,
    rewrap,
    seal,
    seal_template,
    write_keyring,
)
from bioexit.errors import ConfigError, CryptoError, IntegrityError, KeyUnavailableError

JPEG_SOI = b"\xff\xd8\xff"
PAYLOAD = b"face-image-bytes:" + bytes(range(64))


def provider_with(*key_ids: str, current: str | None = None) -> StaticKeyProvider:
    keys = {key_id: os.urandom(32) for key_id in key_ids}
    return StaticKeyProvider(keys, current or key_ids[-1])


@pytest.fixture
def provider() -> StaticKeyProvider:
    return provider_with("mk-1")


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(7).integers(0, 256, size=(24, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def windows(data: bytes, size: int) -> set[bytes]:
    return {data[i : i + size] for i in range(len(data) - size + 1)}


def flipped(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# --- round trips ---------------------------------------------------------------------------


def test_bytes_round_trip_through_object_and_serialised_form(provider: StaticKeyProvider) -> None:
    sealed = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)
    assert sealed.record_id == "rec-1" and sealed.key_id == "mk-1" and sealed.algorithm == "A256GCM"
    assert open_sealed(sealed, record_id="rec-1", kind="image", provider=provider) == PAYLOAD
    restored = Sealed.from_bytes(sealed.to_bytes())
    assert restored == sealed
    assert open_sealed(restored, record_id="rec-1", kind="image", provider=provider) == PAYLOAD


def test_empty_plaintext_round_trips(provider: StaticKeyProvider) -> None:
    sealed = seal(b"", record_id="rec-1", kind="image", provider=provider)
    assert (
        open_sealed(Sealed.from_bytes(sealed.to_bytes()), record_id="rec-1", kind="image", provider=provider)
        == b""
    )


@pytest.mark.parametrize("shape", [(128,), (2, 512)])
def test_template_round_trip_keeps_dtype_shape_and_values(
    provider: StaticKeyProvider, shape: tuple[int, ...]
) -> None:
    vector = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    sealed = Sealed.from_bytes(seal_template(vector, record_id="rec-1", provider=provider).to_bytes())
    opened = open_template(sealed, record_id="rec-1", provider=provider)
    assert opened.dtype == np.float32 and opened.shape == shape
    np.testing.assert_array_equal(opened, vector)
    opened[...] = 0  # a fresh, writable array
    np.testing.assert_array_equal(open_template(sealed, record_id="rec-1", provider=provider), vector)


def test_template_must_be_a_non_empty_float32_array(provider: StaticKeyProvider) -> None:
    with pytest.raises(CryptoError, match="float32"):
        seal_template(np.zeros(4, np.float64), record_id="r", provider=provider)  # type: ignore[arg-type]
    with pytest.raises(CryptoError, match="non-empty"):
        seal_template(np.zeros(0, np.float32), record_id="r", provider=provider)


def test_bytes_sealed_as_template_are_not_read_as_a_template(provider: StaticKeyProvider) -> None:
    sealed = seal(PAYLOAD, record_id="rec-1", kind="template", provider=provider)
    with pytest.raises(IntegrityError, match="not a template"):
        open_template(sealed, record_id="rec-1", provider=provider)


def test_record_id_and_kind_are_validated(provider: StaticKeyProvider) -> None:
    with pytest.raises(CryptoError, match="record id"):
        seal(PAYLOAD, record_id="", kind="image", provider=provider)
    with pytest.raises(CryptoError, match="kind"):
        seal(PAYLOAD, record_id="r", kind="Image With Spaces", provider=provider)


# --- fresh keys, nothing in plain form -------------------------------------------------------


def test_each_seal_draws_a_fresh_data_key_and_nonce(provider: StaticKeyProvider) -> None:
    first = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)
    second = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)
    other = seal(PAYLOAD, record_id="rec-2", kind="image", provider=provider)
    context = b"rec-1"
    keys = {
        provider.unwrap(first.wrapped, context=context),
        provider.unwrap(second.wrapped, context=context),
        provider.unwrap(other.wrapped, context=b"rec-2"),
    }
    assert len(keys) == 3 and all(len(k) == 32 for k in keys)
    assert len({first.nonce, second.nonce, other.nonce}) == 3
    assert len({first.ciphertext, second.ciphertext, other.ciphertext}) == 3
    assert first.wrapped_key != second.wrapped_key


def test_plaintext_never_appears_in_the_serialised_form(provider: StaticKeyProvider) -> None:
    blob = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider).to_bytes()
    assert PAYLOAD not in blob
    assert not windows(PAYLOAD, 8) & windows(blob, 8)


def test_jpeg_never_appears_in_the_serialised_form(provider: StaticKeyProvider) -> None:
    jpeg = jpeg_bytes()
    assert jpeg.startswith(JPEG_SOI + b"\xe0\x00\x10JFIF")
    sealed = seal(jpeg, record_id="rec-1", kind="image", provider=provider)
    blob = sealed.to_bytes()
    # The signature with its JFIF marker: a bare 3-byte pattern turns up by chance in
    # random bytes (about len/2^24), this 11-byte one never does.
    assert jpeg[:11] not in blob
    assert not sealed.ciphertext.startswith(JPEG_SOI) and not blob.startswith(JPEG_SOI)
    assert not windows(jpeg, 12) & windows(blob, 12)


def test_template_raw_float32_bytes_never_appear_in_the_serialised_form(provider: StaticKeyProvider) -> None:
    vector = np.random.default_rng(2).normal(size=128).astype(np.float32)
    raw = vector.tobytes()
    blob = seal_template(vector, record_id="rec-1", provider=provider).to_bytes()
    assert raw not in blob
    assert not windows(raw, 8) & windows(blob, 8)


# --- tampering ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ciphertext", "nonce", "wrapped_key"])
def test_any_altered_byte_of_ciphertext_nonce_or_wrapped_key_fails_integrity(
    provider: StaticKeyProvider, name: str
) -> None:
    sealed = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)
    value: bytes = getattr(sealed, name)
    for index in range(len(value)):
        altered = replace(sealed, **{name: flipped(value, index)})
        with pytest.raises(IntegrityError):
            open_sealed(altered, record_id="rec-1", kind="image", provider=provider)
    with pytest.raises(IntegrityError):
        open_sealed(
            replace(sealed, **{name: value + b"\x00"}), record_id="rec-1", kind="image", provider=provider
        )


def test_altered_key_id_is_unavailable_or_fails_integrity() -> None:
    provider = provider_with("mk-1", "mk-2", current="mk-1")
    sealed = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)
    with pytest.raises(KeyUnavailableError, match=r"expected one of \['mk-1', 'mk-2'\], got 'mk-3'"):
        open_sealed(replace(sealed, key_id="mk-3"), record_id="rec-1", kind="image", provider=provider)
    with pytest.raises(IntegrityError, match="mk-2"):
        open_sealed(replace(sealed, key_id="mk-2"), record_id="rec-1", kind="image", provider=provider)


def open_serialised(blob: bytes, provider: StaticKeyProvider) -> bytes:
    return open_sealed(Sealed.from_bytes(blob), record_id="rec-1", kind="image", provider=provider)


def test_every_byte_of_the_serialised_form_is_protected(provider: StaticKeyProvider) -> None:
    blob = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider).to_bytes()
    for index in range(len(blob)):
        with pytest.raises((IntegrityError, KeyUnavailableError)):
            open_serialised(flipped(blob, index), provider)


def test_swapping_record_or_kind_fails_integrity(provider: StaticKeyProvider) -> None:
    first = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)
    second = seal(PAYLOAD, record_id="rec-2", kind="image", provider=provider)
    with pytest.raises(IntegrityError, match="another record"):
        open_sealed(first, record_id="rec-2", kind="image", provider=provider)
    with pytest.raises(IntegrityError):  # relabelled to match: the wrapped key is bound to rec-1
        open_sealed(replace(first, record_id="rec-2"), record_id="rec-2", kind="image", provider=provider)
    moved = replace(first, wrapped_key=second.wrapped_key)
    with pytest.raises(IntegrityError):  # rec-2's wrapped key moved into rec-1's envelope
        open_sealed(moved, record_id="rec-1", kind="image", provider=provider)
    with pytest.raises(IntegrityError, match="kind"):
        open_sealed(first, record_id="rec-1", kind="template", provider=provider)
    with pytest.raises(IntegrityError):
        open_template(first, record_id="rec-1", provider=provider)


def test_a_wrapped_data_key_is_bound_to_its_record() -> None:
    ring = generate_keyring("mk-1")
    provider = StaticKeyProvider.from_keyring(ring)
    rotated = StaticKeyProvider.from_keyring(ring.with_new_key("mk-2"))
    sealed = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)
    assert len(provider.unwrap(sealed.wrapped, context=b"rec-1")) == 32
    with pytest.raises(IntegrityError, match="another record"):
        provider.unwrap(sealed.wrapped, context=b"rec-2")
    # Rotation never reads the data, so the wrap itself must refuse a relabelled record.
    relabelled = replace(sealed, record_id="rec-2")
    with pytest.raises(IntegrityError):
        rewrap(relabelled, record_id="rec-2", provider=rotated)
    assert rewrap(sealed, record_id="rec-1", provider=rotated).key_id == "mk-2"


# --- rotation ------------------------------------------------------------------------------------


def test_rotation_rewraps_data_keys_so_the_old_master_key_can_go() -> None:
    old_ring = generate_keyring("mk-old")
    before = StaticKeyProvider.from_keyring(old_ring)
    rotated = old_ring.with_new_key("mk-new")
    during = StaticKeyProvider.from_keyring(rotated)
    after = StaticKeyProvider.from_keyring(rotated.without_key("mk-old"))
    assert during.current_key_id == "mk-new" and after.key_ids == ("mk-new",)

    moved = seal(PAYLOAD, record_id="rec-1", kind="image", provider=before)
    pending = seal(PAYLOAD, record_id="rec-2", kind="image", provider=before)
    assert needs_rewrap(moved, during) and not needs_rewrap(moved, before)

    rewrapped = rewrap(moved, record_id="rec-1", provider=during)
    assert rewrapped.key_id == "mk-new" and rewrapped.wrapped_key != moved.wrapped_key
    assert (rewrapped.nonce, rewrapped.ciphertext) == (moved.nonce, moved.ciphertext)
    assert rewrap(rewrapped, record_id="rec-1", provider=during) is rewrapped
    assert not needs_rewrap(rewrapped, during)

    # Not yet re-wrapped: opens while the old key is still held, and no longer once it is gone.
    assert open_sealed(pending, record_id="rec-2", kind="image", provider=during) == PAYLOAD
    with pytest.raises(KeyUnavailableError, match="mk-old"):
        open_sealed(pending, record_id="rec-2", kind="image", provider=after)
    # Re-wrapped: opens with only the new key.
    assert open_sealed(rewrapped, record_id="rec-1", kind="image", provider=after) == PAYLOAD


def test_rewrap_needs_the_old_key_and_the_right_record() -> None:
    before = provider_with("mk-1")
    sealed = seal(PAYLOAD, record_id="rec-1", kind="image", provider=before)
    with pytest.raises(KeyUnavailableError):
        rewrap(sealed, record_id="rec-1", provider=provider_with("mk-2"))
    with pytest.raises(IntegrityError, match="another record"):
        rewrap(sealed, record_id="rec-2", provider=provider_with("mk-2"))


def test_keyring_refuses_removing_the_current_key_and_reusing_an_id() -> None:
    ring = generate_keyring("mk-1").with_new_key("mk-2")
    assert ring.keys["mk-1"] != ring.keys["mk-2"]
    with pytest.raises(ConfigError, match="current"):
        ring.without_key("mk-2")
    with pytest.raises(ConfigError, match="already in use"):
        ring.with_new_key("mk-1")
    assert generate_keyring().current.startswith("mk-")


# --- crypto-erase -----------------------------------------------------------------------------


def test_erase_leaves_the_ciphertext_unreadable_under_every_master_key() -> None:
    ring = generate_keyring("mk-1").with_new_key("mk-2")
    provider = StaticKeyProvider.from_keyring(ring)
    sealed = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)
    other = seal(PAYLOAD, record_id="rec-2", kind="image", provider=provider)
    erased = Sealed.from_bytes(erase(sealed).to_bytes())

    assert erased.erased and not sealed.erased and erased.wrapped_key == ERASED_KEY
    assert (erased.nonce, erased.ciphertext) == (sealed.nonce, sealed.ciphertext)
    for key_id in ring.keys:
        holder = StaticKeyProvider(ring.keys, key_id)
        with pytest.raises(KeyUnavailableError, match="destroyed"):
            open_sealed(replace(erased, key_id=key_id), record_id="rec-1", kind="image", provider=holder)
        with pytest.raises(IntegrityError):  # the tombstone is no wrapped key under any master key
            holder.unwrap(WrappedKey(key_id, ERASED_KEY), context=b"rec-1")
    with pytest.raises(IntegrityError):  # nor does another record's data key open it
        open_sealed(
            replace(erased, wrapped_key=other.wrapped_key), record_id="rec-1", kind="image", provider=provider
        )
    assert rewrap(erased, record_id="rec-1", provider=provider) is erased
    assert not needs_rewrap(erased, provider)
    assert open_sealed(other, record_id="rec-2", kind="image", provider=provider) == PAYLOAD


# --- key providers ----------------------------------------------------------------------------


def test_static_provider_refuses_wrong_key_lengths_and_unknown_current() -> None:
    with pytest.raises(ConfigError, match=r"expected 32 bytes \(AES-256\), got 16 bytes"):
        StaticKeyProvider({"mk-1": os.urandom(16)}, "mk-1")
    with pytest.raises(ConfigError, match="current master key"):
        StaticKeyProvider({"mk-1": os.urandom(32)}, "mk-2")
    with pytest.raises(ConfigError, match="invalid master key id"):
        StaticKeyProvider({"bad id": os.urandom(32)}, "bad id")


def test_file_provider_round_trip_and_rotation(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    write_keyring(path, generate_keyring("mk-1"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    provider = FileKeyProvider(path)
    assert provider.current_key_id == "mk-1"
    sealed = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)

    assert add_master_key(path, "mk-2") == "mk-2"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(path).current == "mk-2"
    rotated = FileKeyProvider(path)
    assert rotated.key_ids == ("mk-1", "mk-2")
    rewrapped = rewrap(sealed, record_id="rec-1", provider=rotated)
    assert rewrapped.key_id == "mk-2"
    assert open_sealed(rewrapped, record_id="rec-1", kind="image", provider=rotated) == PAYLOAD
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o700 | 0o010])
def test_file_provider_refuses_files_open_to_group_or_others(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keyring.json"
    write_keyring(path, generate_keyring("mk-1"))
    path.chmod(mode)
    with pytest.raises(ConfigError, match=rf"expected mode 0600 or 0400.*got mode {mode:04o}"):
        FileKeyProvider(path)
    path.chmod(0o400)
    assert FileKeyProvider(path).current_key_id == "mk-1"


def write_private(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "wrong shape"),
        ('{"current": "mk-1"}', "wrong shape"),
        ('{"current": "mk-1", "keys": {}}', "non-empty"),
        ('{"current": "mk-1", "keys": {"mk-1": "!!!"}}', "not valid base64"),
        ('{"current": "mk-1", "keys": {"mk-1": 5}}', "not a string"),
        ('{"current": "mk-2", "keys": {"mk-1": "' + base64.b64encode(bytes(32)).decode() + '"}}', "current"),
        ('{"current": "mk-1", "keys": {"mk-1": "' + base64.b64encode(bytes(24)).decode() + '"}}', "24 bytes"),
    ],
)
def test_file_provider_refuses_malformed_keyrings(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FileKeyProvider(write_private(tmp_path / "keyring.json", text))


def test_file_provider_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot open keyring file"):
        FileKeyProvider(tmp_path / "absent.json")


def test_env_provider_reads_the_keyring_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    ring = generate_keyring("mk-env")
    monkeypatch.setenv("BIOEXIT_MASTER_KEYS", ring.to_json())
    provider = EnvKeyProvider()
    assert isinstance(provider, KeyProvider) and provider.current_key_id == "mk-env"
    sealed = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)
    assert (
        open_sealed(sealed, record_id="rec-1", kind="image", provider=StaticKeyProvider.from_keyring(ring))
        == PAYLOAD
    )

    monkeypatch.setenv("OTHER_KEYS", generate_keyring("mk-other").to_json())
    assert EnvKeyProvider("OTHER_KEYS").current_key_id == "mk-other"
    monkeypatch.delenv("BIOEXIT_MASTER_KEYS")
    with pytest.raises(ConfigError, match=r"\$BIOEXIT_MASTER_KEYS"):
        EnvKeyProvider()
    monkeypatch.setenv("BIOEXIT_MASTER_KEYS", '{"current": "mk-1", "keys": {"mk-1": "AAAA"}}')
    with pytest.raises(ConfigError, match="wrong length"):
        EnvKeyProvider()


# --- parsing ------------------------------------------------------------------------------------


def test_from_bytes_refuses_every_truncation(provider: StaticKeyProvider) -> None:
    blob = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider).to_bytes()
    for end in range(len(blob)):
        with pytest.raises(IntegrityError):
            Sealed.from_bytes(blob[:end])
    with pytest.raises(IntegrityError, match="trailing"):
        Sealed.from_bytes(blob + b"\x00")


def test_from_bytes_refuses_garbage(provider: StaticKeyProvider) -> None:
    blob = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider).to_bytes()
    rng = np.random.default_rng(5)
    for size in (0, 1, 5, 64, 4096):
        with pytest.raises(IntegrityError):
            Sealed.from_bytes(rng.bytes(size))
    for garbage in (b"BXSD" + rng.bytes(200), b"BXSD\x01\x01" + b"\xff" * 40, b"BXSD\x01\x01\x00\x00"):
        with pytest.raises(IntegrityError):
            Sealed.from_bytes(garbage)
    with pytest.raises(IntegrityError, match="layout"):
        Sealed.from_bytes(blob[:4] + b"\x02" + blob[5:])
    with pytest.raises(IntegrityError, match="algorithm"):
        Sealed.from_bytes(blob[:5] + b"\x09" + blob[6:])
    with pytest.raises(IntegrityError):
        Sealed.from_bytes("not bytes")  # type: ignore[arg-type]
    with pytest.raises(IntegrityError, match="not a sealed record"):
        Sealed.from_bytes(jpeg_bytes())


# --- secrets stay out of messages and reprs -------------------------------------------------


SECRET = bytes(range(100, 132))
SECRET_B64 = base64.b64encode(SECRET).decode()


def leaks(text: str) -> bool:
    forms = (
        SECRET_B64,
        SECRET_B64.rstrip("="),
        SECRET.hex(),
        repr(SECRET),
        base64.b64encode(SECRET[:30]).decode(),
    )
    return any(form in text for form in forms)


def chain(exc: BaseException) -> str:
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        parts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


@pytest.mark.parametrize(
    "text",
    [
        '{"current": "mk-1", "keys": {"mk-1": "' + SECRET_B64 + '"}} trailing',
        '{"current": "mk-1", "keys": {"mk-1": "' + SECRET_B64 + 'A"}}',
        '{"current": "mk-1", "keys": {"mk-1": "' + base64.b64encode(SECRET[:31]).decode() + '"}}',
        '{"current": "mk-1", "keys": {"mk-1": "' + base64.b64encode(SECRET + b"x").decode() + '"}}',
        '{"current": "mk-1", "keys": {"' + SECRET_B64 + '": "mk-1"}}',
        '{"current": "' + SECRET_B64 + '", "keys": {"mk-1": "' + SECRET_B64 + '"}}',
        '{"' + SECRET_B64 + '": 1, "keys": {}}',
        '{"current": "mk-1", "keys": ["' + SECRET_B64 + '"]}',
        '{"current": "mk-1", "keys": {"mk-1": "' + SECRET_B64 + '", "mk-1": "' + SECRET_B64 + '"}}',
    ],
)
def test_keyring_errors_never_quote_key_material(
    text: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert leaks(text)
    with pytest.raises(ConfigError) as from_file:
        FileKeyProvider(write_private(tmp_path / "keyring.json", text))
    monkeypatch.setenv("BIOEXIT_MASTER_KEYS", text)
    with pytest.raises(ConfigError) as from_env:
        EnvKeyProvider()
    assert not leaks(chain(from_file.value)) and not leaks(chain(from_env.value))


def test_crypto_errors_and_reprs_never_show_keys_or_data(tmp_path: Path) -> None:
    ring = Keyring("mk-1", {"mk-1": SECRET})
    provider = StaticKeyProvider.from_keyring(ring)
    sealed = seal(PAYLOAD, record_id="rec-1", kind="image", provider=provider)
    errors: list[BaseException] = []
    attempts = [
        lambda: open_sealed(sealed, record_id="rec-1", kind="template", provider=provider),
        lambda: open_sealed(
            replace(sealed, key_id="mk-9"), record_id="rec-1", kind="image", provider=provider
        ),
        lambda: open_sealed(
            replace(sealed, nonce=bytes(12)), record_id="rec-1", kind="image", provider=provider
        ),
        lambda: open_sealed(erase(sealed), record_id="rec-1", kind="image", provider=provider),
        lambda: provider.unwrap(WrappedKey("mk-1", sealed.wrapped_key[:-1] + b"\x00"), context=b"rec-1"),
        lambda: Sealed.from_bytes(PAYLOAD),
    ]
    for attempt in attempts:
        with pytest.raises(CryptoError) as caught:
            attempt()
        errors.append(caught.value)
    write_keyring(tmp_path / "k.json", ring)
    shown = [
        *(chain(e) for e in errors),
        repr(provider),
        repr(ring),
        repr(FileKeyProvider(tmp_path / "k.json")),
        repr(sealed),
        repr(sealed.wrapped),
    ]
    for text in shown:
        assert not leaks(text), text
        assert PAYLOAD.decode("latin-1") not in text and sealed.ciphertext.hex() not in text
        assert sealed.wrapped_key.hex() not in text and repr(sealed.ciphertext) not in text
    assert (
        "mk-1" in repr(provider)
        and "rec-1" in repr(sealed)
        and f"<{len(sealed.ciphertext)} bytes>" in repr(sealed)
    )
