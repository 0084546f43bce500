"""The digest of a serialised case: a check against accidents, or with a key, against forgery.

Without a key the digest is ``sha256:<hex>`` over the canonical JSON of the case. Anyone
who can edit the JSON can recompute it, so it only catches truncation and accidental change.
With a key it is ``hmac-sha256:<key_id>:<hex>``: an HMAC-SHA-256 over the same canonical
JSON, which nobody without the key can produce. The key id names the key that signed, so keys
can be rotated: verify with a mapping of every key still accepted, sign with the newest.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import CaseFormatError

Key = bytes | Mapping[str, bytes]
"""A signing key, or the keys accepted by id (``{key_id: key}``)."""

DEFAULT_KEY_ID = "default"
"""The key id written when a single key is given without ``key_id``."""

MIN_KEY_BYTES = 16
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_UNKEYED = "sha256:"
_KEYED = "hmac-sha256:"


def canonical(body: Mapping[str, Any]) -> bytes:
    """The bytes a digest covers: sorted keys, no spaces, UTF-8. A case holding what JSON
    cannot write (an object, a number too long to write out) is a `CaseFormatError`."""
    try:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise CaseFormatError(f"case holds values that are not JSON data: {exc}") from None
    return text.encode("utf-8", "surrogatepass")


def sign(body: Mapping[str, Any], key: Key | None = None, key_id: str | None = None) -> str:
    """The digest of ``body``: unkeyed without ``key``; else keyed, with ``key`` itself or,
    for a mapping, the key named ``key_id``."""
    data = canonical(body)
    if key is None:
        if key_id is not None:
            raise ValueError("key_id= names a key, but no key= was given")
        return _UNKEYED + hashlib.sha256(data).hexdigest()
    kid, secret = _signing_key(key, key_id)
    return f"{_KEYED}{kid}:{hmac.digest(secret, data, 'sha256').hex()}"


def check(body: Mapping[str, Any], digest: Any, key: Key | None = None,
          key_id: str | None = None) -> bytes:
    """Raise `CaseFormatError` unless ``digest`` is the right digest of ``body``; the
    canonical JSON it was checked on when it is.

    Under a key only a keyed digest made with one of the keys is accepted (an unkeyed one
    anybody could have recomputed). Without a key a keyed digest is refused too: the case
    says it was signed, and its signature cannot be checked.
    """
    if not isinstance(digest, str):
        raise CaseFormatError(f"case digest should be text, not {type(digest).__name__}")
    if key is not None:
        _validate(key, key_id)
    if digest.startswith(_KEYED):
        kid, _, mac = digest[len(_KEYED):].partition(":")
        if key is None:
            raise CaseFormatError(f"case is signed (key id '{_safe(kid)}'), but no key was "
                                  "given to check it: pass key= to Case.from_dict")
        secret = _verifying_key(key, key_id, kid)
        data = canonical(body)
        if not _same(mac, hmac.digest(secret, data, "sha256").hex()):
            raise CaseFormatError("case signature does not match its content: the case was "
                                  "altered after it was signed, or signed with another key")
        return data
    if not digest.startswith(_UNKEYED):
        raise CaseFormatError("case digest is neither 'sha256:…' nor 'hmac-sha256:…'")
    if key is not None:
        raise CaseFormatError("case is not signed (its digest is a plain SHA-256, which anyone "
                              "can recompute) but a key was given: refused as possibly forged. "
                              "Cases read under a key must be written with "
                              "case.to_dict(key=…)")
    data = canonical(body)
    if not _same(digest, _UNKEYED + hashlib.sha256(data).hexdigest()):
        raise CaseFormatError("case digest does not match its content: the case was altered "
                              "or truncated after it was written")
    return data


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of a digest read from a case (any text) with the right one."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def _signing_key(key: Key, key_id: str | None) -> tuple[str, bytes]:
    _validate(key, key_id)
    if isinstance(key, bytes | bytearray):
        return key_id or DEFAULT_KEY_ID, bytes(key)
    if key_id is None:
        raise ValueError(f"key= holds {len(key)} keys: say which one signs with key_id= "
                         f"(one of {', '.join(sorted(key))})")
    if key_id not in key:
        raise ValueError(f"key_id '{key_id}' is not among the keys given "
                         f"({', '.join(sorted(key))})")
    return key_id, bytes(key[key_id])


def _verifying_key(key: Key, key_id: str | None, kid: str) -> bytes:
    if isinstance(key, bytes | bytearray):
        if key_id is not None and kid != key_id:
            raise CaseFormatError(f"case is signed with key '{_safe(kid)}', not with "
                                  f"'{key_id}'")
        return bytes(key)
    if kid not in key:
        raise CaseFormatError(f"case is signed with key '{_safe(kid)}', which is not among the "
                              f"keys given ({', '.join(sorted(key))}); was it retired?")
    return bytes(key[kid])


def _validate(key: Key, key_id: str | None) -> None:
    if key_id is not None:
        _check_id(key_id)
    if isinstance(key, bytes | bytearray):
        _check_secret(key, "key")
        return
    if not isinstance(key, Mapping):
        raise TypeError(f"key= should be bytes or a mapping of key ids to bytes, not "
                        f"{type(key).__name__}")
    if not key:
        raise ValueError("key= is an empty mapping: give at least one key")
    for kid, secret in key.items():
        if not isinstance(kid, str):
            raise TypeError(f"key ids should be text, not {type(kid).__name__}")
        _check_id(kid)
        _check_secret(secret, f"key '{kid}'")


def _check_id(key_id: Any) -> None:
    if not isinstance(key_id, str):
        raise TypeError(f"key_id should be text, not {type(key_id).__name__}")
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError(f"key id '{_safe(key_id)}' should be 1 to 64 letters, digits, '.', "
                         "'_' or '-'")


def _check_secret(secret: Any, what: str) -> None:
    if not isinstance(secret, bytes | bytearray):
        raise TypeError(f"{what} should be bytes (e.g. secrets.token_bytes(32)), not "
                        f"{type(secret).__name__}")
    if len(secret) < MIN_KEY_BYTES:
        raise ValueError(f"{what} is {len(secret)} bytes; use at least {MIN_KEY_BYTES} "
                         "(e.g. secrets.token_bytes(32))")


def _safe(text: str) -> str:
    """A key id read from a case, shown only when it looks like one (it is outside data)."""
    return text if _KEY_ID.fullmatch(text) else "?"
