"""services/runtime/crypto.py: AES-256-GCM column encryption, key parsing and key configuration."""

from __future__ import annotations

import base64
import logging
import re
import stat
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from services.runtime.crypto import (
    DEV_KEY_FILE,
    Binding,
    DecryptionError,
    KeyRing,
    PiiKeyError,
    development_key,
    generate_key,
    is_ciphertext,
    key_entry,
    key_id_of,
    load_keyring,
    parse_keys,
)
from services.runtime.settings import Settings

SSN = "123-45-6789"
ROW = uuid.UUID("3f1c2a4e-8d7b-4c61-9e0a-5b2d7f8c9a10")
HERE = Binding("employees", "social_security_number", ROW)
TOKEN = re.compile(r"^v1:(?P<kid>[A-Za-z0-9_.-]+):(?P<body>[A-Za-z0-9+/]+={0,2})$")
KEY_A, KEY_B = generate_key(), generate_key()


def ring(active: str = "A", **keys: bytes) -> KeyRing:
    return KeyRing(keys or {"A": KEY_A, "B": KEY_B}, active)


# ---- encrypt / decrypt ---------------------------------------------------------------------------


def test_ciphertext_format_names_the_key_and_round_trips() -> None:
    stored = ring().encrypt(SSN, HERE)
    match = TOKEN.match(stored)
    assert match is not None, stored
    assert match["kid"] == "A" and key_id_of(stored) == "A" and is_ciphertext(stored)
    raw = base64.b64decode(match["body"])
    assert len(raw) == 12 + len(SSN) + 16  # nonce || ciphertext || tag
    assert SSN not in stored and SSN.encode() not in raw
    assert ring().decrypt(stored, HERE) == SSN


def test_every_encryption_uses_a_fresh_nonce() -> None:
    values = {ring().encrypt(SSN, HERE) for _ in range(50)}
    assert len(values) == 50
    assert len({base64.b64decode(v.split(":")[2])[:12] for v in values}) == 50


@pytest.mark.parametrize("text", ["", "DE89 3704 0044 0532 0130 00", "ümlaut-ß-€-漢字", "x" * 1000])
def test_any_text_round_trips(text: str) -> None:
    assert ring().decrypt(ring().encrypt(text, HERE), HERE) == text


@pytest.mark.parametrize(
    "elsewhere",
    [
        Binding("employees", "social_security_number", uuid.uuid4()),  # another row
        Binding("employees", "bank_account_number", ROW),  # another column of the same row
        Binding("contractors", "social_security_number", ROW),  # another table
        Binding("employees", "social_security_number", str(ROW).upper()),  # not the same id text
    ],
)
def test_a_ciphertext_does_not_decrypt_anywhere_else(elsewhere: Binding) -> None:
    stored = ring().encrypt(SSN, HERE)
    with pytest.raises(DecryptionError) as info:
        ring().decrypt(stored, elsewhere)
    message = str(info.value)
    assert "authentication failed" in message and str(elsewhere) in message
    assert SSN not in message and stored not in message


def test_a_tampered_ciphertext_fails_authentication() -> None:
    stored = ring().encrypt(SSN, HERE)
    raw = bytearray(base64.b64decode(stored.split(":")[2]))
    for position in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        forged = f"v1:A:{base64.b64encode(bytes(flipped)).decode()}"
        with pytest.raises(DecryptionError, match="authentication failed"):
            ring().decrypt(forged, HERE)


def test_the_key_id_selects_the_key() -> None:
    under_b = ring("B").encrypt(SSN, HERE)
    assert key_id_of(under_b) == "B"
    assert ring("A").decrypt(under_b, HERE) == SSN  # decrypts with B although A is active
    with pytest.raises(DecryptionError, match="unknown key id 'B'"):
        KeyRing({"A": KEY_A}, "A").decrypt(under_b, HERE)
    # The same id bound to another key: authentication fails, nothing is returned.
    with pytest.raises(DecryptionError, match="authentication failed with key 'B'"):
        KeyRing({"B": generate_key()}, "B").decrypt(under_b, HERE)


@pytest.mark.parametrize(
    "stored", ["v1:A", "v1:A:", "v1::AAAA", "v1:A:not base64!", "v1:A:" + base64.b64encode(b"short").decode()]
)
def test_malformed_ciphertext_is_a_decryption_error(stored: str) -> None:
    with pytest.raises(DecryptionError):
        ring().decrypt(stored, HERE)


def test_plaintext_is_refused_by_decrypt_and_served_by_reveal_only_when_accepted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    strict = ring()
    with pytest.raises(DecryptionError, match="not ciphertext"):
        strict.decrypt(SSN, HERE)
    with pytest.raises(DecryptionError, match="not ciphertext"):
        strict.reveal(SSN, HERE)
    lenient = KeyRing({"A": KEY_A}, "A", accept_plaintext=True)
    caplog.set_level(logging.WARNING, logger="services.runtime.crypto")
    assert lenient.reveal(SSN, HERE) == SSN
    assert lenient.reveal(SSN, Binding("employees", "social_security_number", uuid.uuid4())) == SSN
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "erp rotate-key" in warnings[0] and SSN not in warnings[0]
    # Ciphertext is still authenticated when plaintext is accepted.
    with pytest.raises(DecryptionError):
        lenient.reveal(lenient.encrypt(SSN, HERE), Binding("employees", "bank_account_number", ROW))


def test_is_current_means_under_the_active_key() -> None:
    a, b = ring("A"), ring("B")
    stored = a.encrypt(SSN, HERE)
    assert a.is_current(stored) and not b.is_current(stored)
    assert not a.is_current(SSN)
    assert key_id_of(SSN) is None and not is_ciphertext(SSN)


def test_key_material_is_never_in_reprs() -> None:
    entry = key_entry("A", KEY_A)
    settings = Settings.from_env({"ERP_PII_KEYS": entry, "ERP_PII_ACTIVE_KEY": "A"})
    assert settings.pii_keys == entry
    assert entry.split(":")[1] not in repr(settings)
    assert entry.split(":")[1] not in repr(ring())
    assert repr(ring()) == "KeyRing(active='A', keys=['A', 'B'])"


# ---- ERP_PII_KEYS --------------------------------------------------------------------------------


def test_parse_keys_reads_several_entries() -> None:
    raw = f" {key_entry('2026-01', KEY_A)} , {key_entry('k_2.b', KEY_B)} ,"
    assert parse_keys(raw) == {"2026-01": KEY_A, "k_2.b": KEY_B}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        (" , ", "empty"),
        ("no-colon", "expected <key id>:<base64 key>"),
        (f"bad id:{base64.b64encode(KEY_A).decode()}", "expected <key id>:<base64 key>"),
        (f"{key_entry('A', KEY_A)},{key_entry('A', KEY_B)}", "twice"),
        ("A:%%%notbase64%%%", "not valid base64"),
        (f"A:{base64.b64encode(b'16 bytes only!!!').decode()}", "must decode to 32 bytes, not 16"),
    ],
)
def test_parse_keys_rejects_bad_entries_without_quoting_keys(raw: str, message: str) -> None:
    with pytest.raises(PiiKeyError, match=re.escape(message)) as info:
        parse_keys(raw)
    for part in raw.replace(",", ":").split(":")[1:]:
        if len(part.strip()) > 8:
            assert part.strip() not in str(info.value)


def test_keyring_rejects_an_active_id_it_does_not_have() -> None:
    with pytest.raises(PiiKeyError, match="'C' is not among"):
        KeyRing({"A": KEY_A}, "C")


# ---- load_keyring: settings, development key, production ------------------------------------------


def settings_with(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"ERP_DATA_DIR": str(tmp_path), **env})


def test_configured_keys_and_active_key(tmp_path: Path) -> None:
    s = settings_with(tmp_path, ERP_PII_KEYS=f"{key_entry('A', KEY_A)},{key_entry('B', KEY_B)}", ERP_PII_ACTIVE_KEY="B")
    keys = load_keyring(s)
    assert keys.active_key_id == "B" and keys.key_ids == {"A", "B"}
    assert keys.accept_plaintext  # not production
    assert not (tmp_path / DEV_KEY_FILE).exists()  # configured keys never create a development key


def test_a_single_configured_key_is_active_by_default(tmp_path: Path) -> None:
    assert load_keyring(settings_with(tmp_path, ERP_PII_KEYS=key_entry("only", KEY_A))).active_key_id == "only"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ERP_PII_KEYS": f"{key_entry('A', KEY_A)},{key_entry('B', KEY_B)}"}, "must name the key"),
        ({"ERP_PII_KEYS": key_entry("A", KEY_A), "ERP_PII_ACTIVE_KEY": "B"}, "'B' is not a key id"),
        ({"ERP_PII_ACTIVE_KEY": "A"}, "ERP_PII_KEYS is not"),
        ({"ERP_ENV": "production"}, "ERP_ENV=production requires ERP_PII_KEYS"),
    ],
)
def test_bad_key_configuration_is_a_startup_error(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(PiiKeyError, match=re.escape(message)):
        load_keyring(settings_with(tmp_path, **env))


def test_production_never_uses_the_development_key(tmp_path: Path) -> None:
    development_key(tmp_path)  # a development key exists in the data directory ...
    with pytest.raises(PiiKeyError, match="production"):
        load_keyring(settings_with(tmp_path, ERP_ENV="production"))  # ... and is ignored
    keys = load_keyring(settings_with(tmp_path, ERP_ENV="production", ERP_PII_KEYS=key_entry("prod", KEY_A)))
    assert keys.active_key_id == "prod"
    assert not keys.accept_plaintext  # production refuses plaintext values


def test_development_key_is_created_once_private_and_announced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="services.runtime.crypto")
    data_dir = tmp_path / "data"  # created on demand
    first = load_keyring(settings_with(data_dir))
    path = data_dir / DEV_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.active_key_id.startswith("dev-")
    assert any("DEVELOPMENT key" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
    second = load_keyring(settings_with(data_dir))
    assert second.key_ids == first.key_ids
    assert second.decrypt(first.encrypt(SSN, HERE), HERE) == SSN
    assert [p.name for p in data_dir.iterdir()] == [DEV_KEY_FILE]  # no temporary files left behind


def test_development_key_creation_races_to_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: development_key(tmp_path), range(16)))
    assert len(set(keys)) == 1


def test_a_broken_development_key_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / DEV_KEY_FILE).write_text("garbage\n")
    with pytest.raises(PiiKeyError, match="not a valid development key file"):
        load_keyring(settings_with(tmp_path))


def test_settings_read_the_variables() -> None:
    s = Settings.from_env({"ERP_ENV": "production", "ERP_PII_KEYS": "k:x", "ERP_PII_ACTIVE_KEY": "k"})
    assert (s.environment, s.pii_keys, s.pii_active_key) == ("production", "k:x", "k")
    d = Settings.from_env({})
    assert (d.environment, d.pii_keys, d.pii_active_key) == ("development", "", "")
