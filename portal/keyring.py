"""The key ring for secrets at rest and in transit (FACE_ENCRYPTION_KEYS, newest first): every
key decrypts, the newest encrypts, so a new key goes in front and the stored secrets are then
re-encrypted (`rotate_face_keys`, `rotate_totp_keys`) before the old key is dropped.

The one home of the ring's set-up: the portal's own secrets use it as Fernet keys (`fernet`),
recognition derives keys of its own from each ring entry for one use each (`derived`: wrapping
per-person data keys and gallery snapshot keys, sealing photos in transit), so a key derived
for one use never opens what another use sealed.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def ring() -> tuple[str, ...]:
    """The configured keys, newest first."""
    return tuple(settings.FACE_ENCRYPTION_KEYS)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    """The ring as Fernet keys: the newest encrypts, every one decrypts."""
    return _fernet(ring())


@lru_cache(maxsize=16)
def _derived(keys: tuple[str, ...], info: bytes) -> tuple[AESGCM, ...]:
    derived = []
    for entry in keys:
        secret = base64.urlsafe_b64decode(entry.encode())
        kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info)
        derived.append(AESGCM(kdf.derive(secret)))
    return tuple(derived)


def derived(info: bytes) -> tuple[AESGCM, ...]:
    """An AES-256-GCM key per ring entry (HKDF-SHA256 with `info` naming the use), newest
    first: seal with the first, open with whichever works."""
    return _derived(ring(), info)
