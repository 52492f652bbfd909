"""Face embeddings at rest: Fernet (AES-128-CBC + HMAC) with keys from the environment.

FACE_ENCRYPTION_KEYS lists keys newest first; every key decrypts, only the newest encrypts,
so keys rotate by adding a new one in front and running `rotate_face_keys`.
"""

from functools import lru_cache

import numpy as np
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FACE_ENCRYPTION_KEYS))


def encrypt_embedding(vector: np.ndarray) -> bytes:
    return fernet().encrypt(np.asarray(vector, dtype="<f4").tobytes())


def decrypt_embedding(token: bytes) -> np.ndarray:
    return np.frombuffer(fernet().decrypt(bytes(token)), dtype="<f4")


def rotate(token: bytes) -> bytes:
    return fernet().rotate(bytes(token))
