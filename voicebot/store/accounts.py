"""Console accounts: who may sign in, with which role; passwords hashed with argon2id."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voicebot.errors import StoreError
from voicebot.store.base import StoreBase
from voicebot.store.passwords import Passwords, check_policy
from voicebot.store.schema import UserRow
from voicebot.store.views import ROLES, User, view_of

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


def user_view(row: UserRow) -> User:
    return view_of(User, row)


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise StoreError(f"Rôle inconnu : {role!r}", hint="choisissez parmi : " + ", ".join(ROLES))
    return role


class Accounts(StoreBase):
    passwords: Passwords

    def create_user(
        self, username: str, password: str, role: str, display_name: str | None = None
    ) -> User:
        username = normalise_username(username)
        if not USERNAME.fullmatch(username):
            raise StoreError(
                f"Identifiant invalide : {username!r}",
                hint="1 à 64 caractères : lettres minuscules sans accent, chiffres, . _ @ -",
            )
        check_role(role)
        check_policy(password, username)
        password_hash = self.passwords.hash(password)
        name = (display_name or "").strip() or username
        with self._write() as session:
            if session.scalar(select(UserRow.id).where(UserRow.username == username)):
                raise StoreError(
                    f"L'identifiant {username} existe déjà",
                    hint="choisissez-en un autre, ou modifiez le compte existant",
                )
            row = UserRow(
                username=username,
                display_name=name[:128],
                role=role,
                password_hash=password_hash,
                active=True,
                created_at=self.now(),
            )
            session.add(row)
            session.flush()
            return user_view(row)

    def users(self) -> list[User]:
        with self._read() as session:
            return [user_view(r) for r in session.scalars(select(UserRow).order_by(UserRow.id))]

    def user(self, user_id: int) -> User | None:
        with self._read() as session:
            row = session.get(UserRow, user_id)
            return None if row is None else user_view(row)

    def set_role(self, user_id: int, role: str) -> User:
        check_role(role)
        with self._write() as session:
            row = _existing(session, user_id)
            if row.role == "admin" and role != "admin":
                _keep_an_admin(session, row)
            row.role = role
            return user_view(row)

    def set_active(self, user_id: int, active: bool) -> User:
        with self._write() as session:
            row = _existing(session, user_id)
            if not active and row.role == "admin":
                _keep_an_admin(session, row)
            row.active = active
            return user_view(row)

    def set_password(self, user_id: int, password: str) -> None:
        with self._read() as session:
            username = _existing(session, user_id).username
        check_policy(password, username)
        password_hash = self.passwords.hash(password)
        with self._write(visible=False) as session:
            _existing(session, user_id).password_hash = password_hash

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account active; else None.

        An unknown username costs the same argon2 verification; a hash made with
        older parameters is replaced on success."""
        username = normalise_username(username)
        with self._read() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username))
        if row is None:
            self.passwords.burn(password)
            return None
        if not self.passwords.verify(row.password_hash, password) or not row.active:
            return None
        if self.passwords.needs_rehash(row.password_hash):
            new_hash = self.passwords.hash(password)
            with self._write(visible=False) as session:
                fresh = session.get(UserRow, row.id)
                if fresh is not None:
                    fresh.password_hash = new_hash
        return user_view(row)


def _existing(session: Session, user_id: int) -> UserRow:
    row = session.get(UserRow, user_id)
    if row is None:
        raise StoreError(f"Compte inconnu : n° {user_id}", hint="rechargez la liste des comptes")
    return row


def _keep_an_admin(session: Session, row: UserRow) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(UserRow)
        .where(UserRow.role == "admin", UserRow.active.is_(True), UserRow.id != row.id)
    )
    if not others:
        raise StoreError(
            f"{row.username} est le dernier administrateur actif",
            hint="nommez d'abord un autre administrateur (voicebot users add NOM --role admin)",
        )
