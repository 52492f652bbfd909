"""The portal's key ring for secrets at rest (FACE_ENCRYPTION_KEYS, newest first): every key
decrypts, the newest encrypts, so a new key goes in front and the stored secrets are then
re-encrypted (`rotate_face_keys`, `rotate_totp_keys`) before the old key is dropped."""

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FACE_ENCRYPTION_KEYS))
