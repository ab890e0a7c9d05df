"""The public keys a dev environment accepts over SSH (spec 03 §1.9, decision C5).

Users paste OpenSSH public keys (the ``.pub`` file: ``<type> <base64> [comment]``), at most
:data:`MAX_KEYS`, separated by ``;``. Each key is checked for real: its base64 decodes, the
type inside the blob matches the declared one, and the key material has the size its type
needs (RSA at least :data:`MIN_RSA_BITS` bits). Accepted types: ``ssh-ed25519``,
``ecdsa-sha2-nistp256/384/521``, ``ssh-rsa`` and the security-key variants
``sk-ssh-ed25519@openssh.com`` and ``sk-ecdsa-sha2-nistp256@openssh.com``.

Refused with a message that says what to paste instead: private keys, ``authorized_keys``
options (``from=``, ``command=``...), RFC 4716 (``---- BEGIN SSH2 PUBLIC KEY ----``) keys,
DSA keys, line breaks inside a key, duplicates. Empty segments (``a;;b;``) are ignored.

The wire format is parsed here (length-prefixed strings, RFC 4253 §6.6): no dependency.
Keys are stored and shown normalised: ``<type> <base64> [comment]`` with single spaces;
:func:`masked` is what the console shows (``ssh-keygen -lf`` style).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import NoReturn

from hangar.errors import ValidationFailed

FIELD = "ssh_keys"
SEPARATOR = ";"
MAX_KEYS = 10
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 16384  # OpenSSH's own limit

ED25519 = "ssh-ed25519"
RSA = "ssh-rsa"
SK_ED25519 = "sk-ssh-ed25519@openssh.com"
SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com"
ECDSA_CURVES = {  # key type -> (curve name in the blob, bits, bytes per coordinate)
    "ecdsa-sha2-nistp256": ("nistp256", 256, 32),
    "ecdsa-sha2-nistp384": ("nistp384", 384, 48),
    "ecdsa-sha2-nistp521": ("nistp521", 521, 66),
}
KEY_TYPES = (ED25519, *ECDSA_CURVES, RSA, SK_ED25519, SK_ECDSA)
LABELS = {ED25519: "ED25519", RSA: "RSA", SK_ED25519: "ED25519-SK", SK_ECDSA: "ECDSA-SK"}
LABELS.update(dict.fromkeys(ECDSA_CURVES, "ECDSA"))

ACCEPTED = "ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (≥ 2048 bits) or an sk- variant"
NEW_KEY = "generate one with: ssh-keygen -t ed25519"
PASTE_PUB = "paste the contents of the .pub file, e.g. ~/.ssh/id_ed25519.pub"
PRIVATE_MARKERS = ("PRIVATE KEY", "PuTTY-User-Key-File")
RFC4716_MARKER = "BEGIN SSH2 PUBLIC KEY"
OPTION = re.compile(r"^[A-Za-z-]+(=|,|$)")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class PublicKey:
    """One validated key. ``blob`` is the decoded key data, ``bits`` its size."""

    type: str
    blob: bytes
    comment: str
    bits: int

    @property
    def line(self) -> str:
        """The normalised ``authorized_keys`` line: ``<type> <base64> [comment]``."""
        data = base64.b64encode(self.blob).decode("ascii")
        return f"{self.type} {data} {self.comment}".rstrip()

    @property
    def fingerprint(self) -> str:
        """``SHA256:<unpadded base64>``, exactly as ``ssh-keygen -l`` prints it."""
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode("ascii")
        return "SHA256:" + digest.rstrip("=")

    @property
    def masked(self) -> str:
        """``<bits> SHA256:... <comment> (<TYPE>)`` like ``ssh-keygen -lf``."""
        comment = self.comment or "no comment"
        return f"{self.bits} {self.fingerprint} {comment} ({LABELS[self.type]})"


def parse_keys(text: str) -> list[str]:
    """Validate the ``;``-separated list; return the keys normalised, in the given order.

    Raises :class:`ValidationFailed` on field ``ssh_keys`` naming the key's position.
    """
    segments = [s.strip() for s in text.split(SEPARATOR)]
    pasted = [s for s in segments if s]
    if len(pasted) > MAX_KEYS:
        _fail(
            f"{len(pasted)} keys given, at most {MAX_KEYS} are allowed: remove "
            f"{len(pasted) - MAX_KEYS}"
        )
    keys: list[PublicKey] = []
    for position, segment in enumerate(pasted, start=1):
        key = parse_key(segment, position=position)
        for earlier, other in enumerate(keys, start=1):
            if other.blob == key.blob:
                _fail(f"key {position} is the same key as key {earlier}: remove one of them")
        keys.append(key)
    return [k.line for k in keys]


def parse_key(text: str, *, position: int = 1) -> PublicKey:
    """One public key line; ``position`` (1-based) only names it in errors."""
    where = f"key {position}"
    key = text.strip()
    if any(marker in key for marker in PRIVATE_MARKERS):
        _fail(f"{where}: this is a PRIVATE key; paste the .pub file instead (and keep the "
              "private key secret: never paste it anywhere)")  # fmt: skip
    if RFC4716_MARKER in key:
        _fail(f"{where}: this is an RFC 4716 (SSH2) public key; convert it to OpenSSH format "
              "with: ssh-keygen -i -f key.pub")  # fmt: skip
    if "\n" in key or "\r" in key:
        _fail(f"{where}: contains a line break; put each key on one line and separate keys "
              f"with '{SEPARATOR}'")  # fmt: skip
    if CONTROL.search(key):
        _fail(f"{where}: contains control characters; {PASTE_PUB}")
    parts = key.split(maxsplit=2)
    declared = parts[0]
    if declared not in KEY_TYPES:
        _unknown_type(where, declared, parts)
    if len(parts) < 2:
        _fail(f"{where}: the key data after '{declared}' is missing; {PASTE_PUB}")
    blob = _decode(where, parts[1])
    comment = " ".join(parts[2].split()) if len(parts) > 2 else ""
    bits = _check_blob(where, declared, blob)
    return PublicKey(type=declared, blob=blob, comment=comment, bits=bits)


def fingerprint(key: str) -> str:
    """``SHA256:...`` of a stored key line."""
    return parse_key(key).fingerprint


def masked(key: str) -> str:
    """How a stored key is displayed: ``256 SHA256:... alice@laptop (ED25519)``."""
    return parse_key(key).masked


# --- checks -------------------------------------------------------------------------------


def _unknown_type(where: str, declared: str, parts: list[str]) -> NoReturn:
    if declared == "ssh-dss":
        _fail(f"{where}: DSA keys are not accepted (OpenSSH disabled them); {NEW_KEY}")
    rest = " ".join(parts[1:])
    if OPTION.match(declared) and any(t in rest.split() for t in KEY_TYPES):
        _fail(f"{where}: starts with authorized_keys options ('{declared[:40]}'); options are "
              "not allowed: paste only '<type> <base64> [comment]'")  # fmt: skip
    if declared.startswith("AAAA"):
        _fail(f"{where}: the key type is missing in front of the key data; {PASTE_PUB}")
    _fail(f"{where}: unsupported key type '{declared[:40]}': use {ACCEPTED}; {NEW_KEY}")


def _decode(where: str, data: str) -> bytes:
    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        blob = b""
    if not blob:
        _fail(f"{where}: the key data is not valid base64 (was the key cut or edited "
              f"while pasting?); {PASTE_PUB}")  # fmt: skip
    return blob


def _check_blob(where: str, declared: str, blob: bytes) -> int:
    """The key's size in bits, once the blob's structure is right for ``declared``."""
    damaged = f"{where}: the key data is damaged or incomplete; {PASTE_PUB}"
    reader = _Reader(blob)
    try:
        inner = reader.string().decode("ascii")
    except (ValueError, UnicodeDecodeError):
        _fail(damaged)
    if inner != declared:
        _fail(f"{where}: declared as '{declared}' but the key data is a '{inner[:40]}' key; "
              f"the line was edited: {PASTE_PUB} unchanged")  # fmt: skip
    try:
        bits = _check_material(where, declared, reader)
        reader.end()
    except ValueError:
        _fail(damaged)
    return bits


def _check_material(where: str, declared: str, reader: _Reader) -> int:
    if declared in (ED25519, SK_ED25519):
        if len(reader.string()) != 32:
            raise ValueError("ed25519 keys are 32 bytes")
        if declared == SK_ED25519:
            reader.string()  # the FIDO application, e.g. "ssh:"
        return 256
    if declared == RSA:
        exponent, modulus = reader.mpint(), reader.mpint()
        if exponent < 3 or modulus <= 0:
            raise ValueError("bad RSA numbers")
        bits = modulus.bit_length()
        if bits < MIN_RSA_BITS:
            _fail(f"{where}: this RSA key has {bits} bits; at least {MIN_RSA_BITS} are "
                  f"required: {NEW_KEY} (or ssh-keygen -t rsa -b 4096)")  # fmt: skip
        if bits > MAX_RSA_BITS:
            _fail(f"{where}: this RSA key has {bits} bits; OpenSSH accepts at most "
                  f"{MAX_RSA_BITS}: {NEW_KEY}")  # fmt: skip
        return bits
    curve, bits, size = ECDSA_CURVES.get(declared, ("nistp256", 256, 32))  # or SK_ECDSA
    if reader.string() != curve.encode():
        raise ValueError("curve does not match the key type")
    point = reader.string()
    if len(point) != 1 + 2 * size or point[0] != 4:
        raise ValueError("not an uncompressed point of the curve")
    if declared == SK_ECDSA:
        reader.string()
    return bits


class _Reader:
    """RFC 4251 §5 ``string`` and ``mpint`` fields, in order, refusing overruns."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def string(self) -> bytes:
        if self.pos + 4 > len(self.data):
            raise ValueError("truncated length")
        length = int.from_bytes(self.data[self.pos : self.pos + 4], "big")
        start = self.pos + 4
        if start + length > len(self.data):
            raise ValueError("truncated string")
        self.pos = start + length
        return self.data[start : self.pos]

    def mpint(self) -> int:
        return int.from_bytes(self.string(), "big", signed=True)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ValueError("trailing bytes")


def _fail(message: str) -> NoReturn:
    raise ValidationFailed.field(FIELD, message)
