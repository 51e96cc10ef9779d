"""Refresh tokens are encrypted at rest with FERNET_KEY and decrypted only to call Amazon."""

from __future__ import annotations

import threading

from cryptography.fernet import Fernet, InvalidToken

from services.platform.errors import SettingsError
from services.platform.settings import Settings

_lock = threading.Lock()
_dev_key: bytes | None = None


def _fernet(settings: Settings) -> Fernet:
    global _dev_key
    if settings.fernet_key:
        return Fernet(settings.fernet_key.encode())
    if settings.mongodb_uri:
        # A generated key would make every stored token unreadable after a restart.
        raise SettingsError("FERNET_KEY: required when MONGODB_URI is set (generated for dev mode only)")
    with _lock:
        if _dev_key is None:
            _dev_key = Fernet.generate_key()
        return Fernet(_dev_key)


def encrypt_token(token: str, settings: Settings) -> str:
    return _fernet(settings).encrypt(token.encode()).decode()


def decrypt_token(ciphertext: str, settings: Settings) -> str:
    try:
        return _fernet(settings).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SettingsError("FERNET_KEY: cannot decrypt a stored refresh token with this key") from None
