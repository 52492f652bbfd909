"""Face embeddings at rest.

Each person's embeddings are encrypted with AES-256-GCM under a data key of their own
(recognition.lifecycle.datakeys), which the key ring FACE_ENCRYPTION_KEYS wraps: deleting the
person's last template deletes the key, and no copy of the template anywhere opens again. The
embedding is bound to its person (associated data), so a ciphertext moved to another row does
not open.

Templates written before per-person keys are Fernet tokens under the ring itself; they still
decrypt, and `rotate_face_keys` moves them to per-person keys. FACE_ENCRYPTION_KEYS lists keys
newest first; every key decrypts (unwraps), only the newest encrypts (wraps).
"""

import os

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.keyring import fernet
from recognition.lifecycle import datakeys

__all__ = ["fernet"]  # the ring itself lives in portal.keyring

PER_PERSON = b"\x02"  # a Fernet token starts with "g" (0x80, base64-encoded)
_NONCE = 12


class Unreadable(InvalidToken):
    """The template cannot be decrypted: its person's key is gone, or it was tampered with."""


def _aad(person_id: int) -> bytes:
    return b"template of person:%d" % person_id


def seal_embedding(vector: np.ndarray, person_id: int, key: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    plain = np.asarray(vector, dtype="<f4").tobytes()
    return PER_PERSON + nonce + AESGCM(key).encrypt(nonce, plain, _aad(person_id))


# A stored template: bytes, or the memoryview PostgreSQL hands back for a bytea column.
Token = bytes | memoryview


def encrypt_embedding(vector: np.ndarray, person_id: int) -> bytes:
    """The embedding under the person's data key (made on their first template)."""
    return seal_embedding(vector, person_id, datakeys.key_for_writing(person_id))


def is_legacy(token: Token) -> bool:
    return bytes(token[:1]) != PER_PERSON


def open_embedding(token: Token, person_id: int, key: bytes | None) -> np.ndarray:
    token = bytes(token)
    if is_legacy(token):
        return np.frombuffer(fernet().decrypt(token), dtype="<f4")
    if key is None:
        raise Unreadable(person_id)
    nonce, body = token[1 : 1 + _NONCE], token[1 + _NONCE :]
    try:
        return np.frombuffer(AESGCM(key).decrypt(nonce, body, _aad(person_id)), dtype="<f4")
    except InvalidTag as error:
        raise Unreadable(person_id) from error


def decrypt_embedding(token: Token, person_id: int) -> np.ndarray:
    key = None if is_legacy(token) else datakeys.keys_for_reading([person_id]).get(person_id)
    return open_embedding(token, person_id, key)


def decrypt_many(rows, wrapped: dict[int, bytes] | None = None) -> dict[int, np.ndarray]:
    """{template id: embedding} of (template id, person id, token) rows, each person's key
    fetched (or taken from `wrapped`, {person id: wrapped key}) and unwrapped once; a row
    whose key is gone is left out."""
    rows = list(rows)
    if wrapped is None:
        keys = datakeys.keys_for_reading(p for _pk, p, token in rows if not is_legacy(token))
    else:
        keys = datakeys.unwrap_many(wrapped)
    vectors = {}
    for pk, person_id, token in rows:
        try:
            vectors[pk] = open_embedding(token, person_id, keys.get(person_id))
        except InvalidToken:
            continue
    return vectors


def to_per_person(token: Token, person_id: int, key: bytes | None = None) -> bytes:
    """A legacy (ring-encrypted) template re-encrypted under the person's data key; a
    per-person one as it is (the ring only wraps its key)."""
    if not is_legacy(token):
        return bytes(token)
    key = key or datakeys.key_for_writing(person_id)
    return seal_embedding(open_embedding(token, person_id, None), person_id, key)
