"""Passwords: the policy, and argon2id hashes (argon2-cffi's current parameters)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from voicebot.errors import StoreError

MIN_LENGTH = 12
MAX_LENGTH = 256


def check_policy(password: str, username: str) -> None:
    """Refuse a password too short, too long, or equal to the username."""
    if len(password) < MIN_LENGTH:
        raise StoreError(
            f"Mot de passe trop court : {len(password)} caractères, il en faut au moins "
            f"{MIN_LENGTH}",
            hint="choisissez une phrase de passe, par exemple quatre mots sans rapport",
        )
    if len(password) > MAX_LENGTH:
        raise StoreError(
            f"Mot de passe trop long : au plus {MAX_LENGTH} caractères",
            hint="choisissez un mot de passe plus court",
        )
    if password.strip().lower() == username.strip().lower():
        raise StoreError(
            "Le mot de passe ne peut pas être l'identifiant",
            hint="choisissez un mot de passe différent de l'identifiant",
        )


class Passwords:
    """Hash and verify; an unknown user is checked against a dummy hash (same cost)."""

    def __init__(self) -> None:
        self.hasher = PasswordHasher()  # argon2id
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

    def burn(self, password: str) -> None:
        """Spend the time of one verification, for a username that does not exist."""
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        self.verify(self._dummy, password)
