"""Column-level encryption of sensitive values (AES-256-GCM, authenticated) with key ids.

A value is stored as the text `v1:<key id>:<base64(nonce || ciphertext || tag)>`: a fresh 96-bit
random nonce per value, and associated data naming the table, the column and the row the value
belongs to (`Binding`), so a ciphertext copied to another row or column fails authentication
instead of decrypting. The key id beside the ciphertext says which key to decrypt with, so keys
can be rotated: configure the new key as active next to the old one, run `erp rotate-key` (which
re-encrypts every value not under the active key), then remove the old key.

Keys come from settings: `ERP_PII_KEYS` = comma-separated `<key id>:<base64 of 32 bytes>` and
`ERP_PII_ACTIVE_KEY` = the id new values are encrypted with. Without them (development, `make up`,
tests) a development key is created once in `<data dir>/pii-dev.key` (mode 0600) and used, with a
warning; with `ERP_ENV=production` a missing key is a startup error (`PiiKeyError`).

Nothing here ever puts a plaintext value, or key material, into an exception message or a log line:
errors name the place (`employees.social_security_number of <id>`) and the reason only.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.runtime.files import create_once
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

VERSION = "v1"
PREFIX = VERSION + ":"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DEV_KEY_FILE = "pii-dev.key"
PRODUCTION = "production"


class PiiKeyError(RuntimeError):
    """The key configuration is missing or malformed (a startup error)."""


class DecryptionError(Exception):
    """A stored value cannot be decrypted: unknown key id, wrong place (copied from another row
    or column), tampered, malformed, or plaintext where ciphertext is required. The message names
    the place and the reason, never the value."""

    def __init__(self, binding: Binding, reason: str) -> None:
        super().__init__(f"cannot decrypt {binding}: {reason}")
        self.binding = binding
        self.reason = reason


@dataclass(frozen=True)
class Binding:
    """Where a value lives; authenticated with it, so it decrypts nowhere else."""

    table: str
    column: str
    row_id: uuid.UUID | str

    @property
    def associated_data(self) -> bytes:
        return f"erp-pii/{VERSION}/{self.table}/{self.column}/{self.row_id}".encode()

    def __str__(self) -> str:
        return f"{self.table}.{self.column} of {self.row_id}"


def is_ciphertext(stored: str) -> bool:
    """Whether a stored value is (meant to be) ciphertext; anything else is legacy plaintext."""
    return stored.startswith(PREFIX)


def key_id_of(stored: str) -> str | None:
    """The key id of a stored ciphertext (None for plaintext or a malformed value)."""
    if not is_ciphertext(stored):
        return None
    parts = stored.split(":", 2)
    return parts[1] if len(parts) == 3 and KEY_ID_RE.match(parts[1]) else None


class KeyRing:
    """The configured keys: encrypts with the active one, decrypts with whichever a value names.

    `accept_plaintext` lets `reveal` serve a legacy plaintext value (rows written before
    encryption, or bulk-loaded past the API) with a warning instead of refusing it; it is off in
    production, where such a value is an error until `erp rotate-key` encrypts it.
    """

    def __init__(self, keys: Mapping[str, bytes], active: str, *, accept_plaintext: bool = False) -> None:
        if active not in keys:
            raise PiiKeyError(f"the active key id {active!r} is not among the configured keys")
        for key_id, key in keys.items():
            if not KEY_ID_RE.match(key_id):
                raise PiiKeyError(f"invalid key id {key_id!r}: use letters, digits, '.', '_' or '-' (at most 64)")
            if len(key) != KEY_BYTES:
                raise PiiKeyError(f"key {key_id!r} must be {KEY_BYTES} bytes")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active
        self.accept_plaintext = accept_plaintext
        self._warned: set[tuple[str, str]] = set()

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._ciphers)

    def __repr__(self) -> str:  # never the key material
        return f"KeyRing(active={self.active_key_id!r}, keys={sorted(self._ciphers)!r})"

    def encrypt(self, plaintext: str, binding: Binding) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self.active_key_id].encrypt(nonce, plaintext.encode(), binding.associated_data)
        return f"{PREFIX}{self.active_key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, stored: str, binding: Binding) -> str:
        """The plaintext of a ciphertext stored at `binding`; DecryptionError otherwise."""
        if not is_ciphertext(stored):
            raise DecryptionError(binding, "the stored value is not ciphertext (run `erp rotate-key`)")
        parts = stored.split(":", 2)
        if len(parts) != 3 or not KEY_ID_RE.match(parts[1]):
            raise DecryptionError(binding, "malformed ciphertext")
        key_id, body = parts[1], parts[2]
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(binding, f"unknown key id {key_id!r} (not in ERP_PII_KEYS)")
        try:
            raw = base64.b64decode(body.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise DecryptionError(binding, "malformed ciphertext") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError(binding, "malformed ciphertext")
        try:
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], binding.associated_data)
        except InvalidTag:
            raise DecryptionError(
                binding, f"authentication failed with key {key_id!r} (tampered, or copied from another row or column)"
            ) from None
        try:
            return plain.decode()
        except UnicodeDecodeError:
            raise DecryptionError(binding, "the plaintext is not UTF-8") from None

    def reveal(self, stored: str, binding: Binding) -> str:
        """`decrypt`, except that legacy plaintext is returned as is when the policy accepts it
        (with one warning per table and column and process)."""
        if is_ciphertext(stored) or not self.accept_plaintext:
            return self.decrypt(stored, binding)
        place = (binding.table, binding.column)
        if place not in self._warned:
            self._warned.add(place)
            log.warning(
                "%s.%s holds unencrypted values (first seen in row %s): run `erp rotate-key` to encrypt them",
                binding.table,
                binding.column,
                binding.row_id,
            )
        return stored

    def is_current(self, stored: str) -> bool:
        """Whether a stored value is ciphertext under the active key (nothing for rotation to do)."""
        return stored.startswith(f"{PREFIX}{self.active_key_id}:")


# ---- configuration -------------------------------------------------------------------------------


def generate_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def key_entry(key_id: str, key: bytes) -> str:
    """One `ERP_PII_KEYS` entry: `<key id>:<base64 key>`."""
    return f"{key_id}:{base64.b64encode(key).decode('ascii')}"


def parse_keys(raw: str) -> dict[str, bytes]:
    """`<key id>:<base64 32-byte key>[,...]` -> {key id: key}. Errors never quote key material."""
    keys: dict[str, bytes] = {}
    entries = [e.strip() for e in raw.split(",") if e.strip()]
    if not entries:
        raise PiiKeyError("ERP_PII_KEYS is empty")
    for n, entry in enumerate(entries, 1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not KEY_ID_RE.match(key_id):
            raise PiiKeyError(
                f"ERP_PII_KEYS entry {n}: expected <key id>:<base64 key>, "
                "the key id made of letters, digits, '.', '_' or '-'"
            )
        if key_id in keys:
            raise PiiKeyError(f"ERP_PII_KEYS names key id {key_id!r} twice")
        try:
            key = base64.b64decode(encoded.strip().encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise PiiKeyError(f"ERP_PII_KEYS key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise PiiKeyError(f"ERP_PII_KEYS key {key_id!r} must decode to {KEY_BYTES} bytes, not {len(key)}")
        keys[key_id] = key
    return keys


def load_keyring(settings: Settings) -> KeyRing:
    """The key ring the settings describe (see the module docstring); PiiKeyError when unusable."""
    production = settings.environment == PRODUCTION
    if settings.pii_keys:
        keys = parse_keys(settings.pii_keys)
        active = settings.pii_active_key
        if not active:
            if len(keys) != 1:
                raise PiiKeyError("ERP_PII_ACTIVE_KEY must name the key to encrypt with when ERP_PII_KEYS has several")
            active = next(iter(keys))
        if active not in keys:
            raise PiiKeyError(f"ERP_PII_ACTIVE_KEY {active!r} is not a key id of ERP_PII_KEYS")
        return KeyRing(keys, active, accept_plaintext=not production)
    if production:
        raise PiiKeyError(
            "ERP_ENV=production requires ERP_PII_KEYS (and ERP_PII_ACTIVE_KEY): "
            "sensitive columns are never encrypted with the development key in production"
        )
    if settings.pii_active_key:
        raise PiiKeyError("ERP_PII_ACTIVE_KEY is set but ERP_PII_KEYS is not")
    key_id, key = development_key(settings.data_dir)
    log.warning(
        "no ERP_PII_KEYS configured: sensitive columns are encrypted with the DEVELOPMENT key %s in %s "
        "(never use it in production; set ERP_PII_KEYS and ERP_PII_ACTIVE_KEY)",
        key_id,
        settings.data_dir / DEV_KEY_FILE,
    )
    return KeyRing({key_id: key}, key_id, accept_plaintext=True)


def development_key(data_dir: Path) -> tuple[str, bytes]:
    """The development key of a data directory: created once (0600, atomically), then reused.

    Its id carries a random suffix, so a value encrypted under another data directory's key says
    "unknown key id" rather than failing authentication mysteriously."""
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        create_once(path, (key_entry(f"dev-{secrets.token_hex(4)}", generate_key()) + "\n").encode())
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users: chmod 600 it", path)
    try:
        keys = parse_keys(path.read_text())
    except PiiKeyError as exc:
        raise PiiKeyError(f"{path} is not a valid development key file: {exc}") from None
    if len(keys) != 1:
        raise PiiKeyError(f"{path} must hold exactly one <key id>:<base64 key> entry")
    return next(iter(keys.items()))
