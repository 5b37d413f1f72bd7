"""Console accounts: argon2id hashes, the password policy, roles, sign-in."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from voicebot.errors import StoreError
from voicebot.store import ROLES, Store
from voicebot.store.schema import UserRow

PASSWORD = "cheval agrafe pile correcte"


def stored_hash(store: Store, username: str) -> str:
    with store.engine.connect() as connection:
        value = connection.execute(
            select(UserRow.password_hash).where(UserRow.username == username)
        ).scalar_one()
    return str(value)


def test_passwords_are_argon2id_and_checked(store: Store) -> None:
    user = store.create_user("  Marie.Curie ", PASSWORD, "supervisor", "Marie Curie")
    assert (user.username, user.display_name, user.role, user.active) == (
        "marie.curie",
        "Marie Curie",
        "supervisor",
        True,
    )
    password_hash = stored_hash(store, "marie.curie")
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash

    assert store.authenticate("marie.curie", PASSWORD) == user
    assert store.authenticate("MARIE.CURIE", PASSWORD) == user
    assert store.authenticate("marie.curie", PASSWORD + "!") is None
    assert store.authenticate("marie.curie", "") is None
    assert store.authenticate("inconnu", PASSWORD) is None

    store.set_active(user.id, False)
    assert store.authenticate("marie.curie", PASSWORD) is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("court", "Mot de passe trop court : 5 caractères, il en faut au moins 12"),
        ("onze carac.", "trop court"),
        ("x" * 257, "trop long"),
        ("jean.martin1", "ne peut pas être l'identifiant"),
    ],
)
def test_password_policy(store: Store, password: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        store.create_user("jean.martin1", password, "agent")
    assert store.users() == []


def test_accounts_rules(store: Store) -> None:
    admin = store.create_user("admin", PASSWORD, "admin")
    assert admin.display_name == "admin"
    with pytest.raises(StoreError, match="existe déjà"):
        store.create_user("ADMIN", PASSWORD, "agent")
    with pytest.raises(StoreError, match="Rôle inconnu"):
        store.create_user("paul", PASSWORD, "chef")
    with pytest.raises(StoreError, match="Identifiant invalide"):
        store.create_user("paul martin", PASSWORD, "agent")
    with pytest.raises(StoreError, match="dernier administrateur"):
        store.set_role(admin.id, "agent")
    with pytest.raises(StoreError, match="dernier administrateur"):
        store.set_active(admin.id, False)

    paul = store.create_user("paul", PASSWORD, "agent")
    assert store.set_role(paul.id, "admin").role == "admin"
    assert store.set_role(admin.id, "supervisor").role == "supervisor"
    assert [u.username for u in store.users()] == ["admin", "paul"]
    assert store.user(paul.id) == store.set_active(paul.id, True)
    assert store.user(12345) is None
    with pytest.raises(StoreError, match="Compte inconnu"):
        store.set_role(12345, "agent")
    assert set(ROLES) == {"agent", "supervisor", "admin"}


def test_changing_a_password(store: Store) -> None:
    user = store.create_user("lea", PASSWORD, "agent")
    with pytest.raises(StoreError, match="trop court"):
        store.set_password(user.id, "court")
    store.set_password(user.id, "une toute autre phrase")
    assert store.authenticate("lea", PASSWORD) is None
    assert store.authenticate("lea", "une toute autre phrase") == user


def test_an_old_hash_is_replaced_at_sign_in(store: Store) -> None:
    store.passwords.hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    user = store.create_user("lea", PASSWORD, "agent")
    weak = stored_hash(store, "lea")
    assert "m=8192" in weak
    store.passwords.hasher = PasswordHasher()
    assert store.authenticate("lea", PASSWORD) == user
    strong = stored_hash(store, "lea")
    assert strong != weak and "m=65536" in strong
    assert store.authenticate("lea", PASSWORD) == user
