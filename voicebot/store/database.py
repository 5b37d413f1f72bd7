"""Where the data lives: the database URL, the engine, and the migrations run at open."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from voicebot.config import PROJECT_ROOT
from voicebot.errors import StoreError

DEFAULT_SQLITE = PROJECT_ROOT / "var" / "voicebot.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30.0
POSTGRES_CONNECT_TIMEOUT_S = 10
MIGRATION_LOCK = 0x766F6963  # "voic": the advisory lock taken while migrating
_MIGRATING = threading.Lock()


def resolve_url(url: str | None) -> str:
    """The URL to use: SQLite under var/ by default; ``postgresql://`` means psycopg 3."""
    if url is None or not url.strip():
        return f"sqlite:///{DEFAULT_SQLITE}"
    url = url.strip()
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def shown(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "?"


def create_store_engine(url: str) -> Engine:
    """An engine for SQLite (WAL, foreign keys, writes take the lock at once) or PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"Adresse de base de données illisible : {shown(url)}",
            hint="exemples : sqlite:///var/voicebot.db, postgresql+psycopg://user:mdp@hôte/base",
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
        )
    raise StoreError(
        f"Base de données non prise en charge : {backend}",
        hint="utilisez SQLite (sqlite:///…) ou PostgreSQL (postgresql+psycopg://…)",
    )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        folder = Path(database).expanduser().resolve().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Impossible de créer le dossier de la base {folder} : {exc.strerror}",
                hint="vérifiez les droits ou choisissez un autre VOICEBOT_DATABASE_URL",
            ) from None
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # The driver opens "BEGIN IMMEDIATE" before the first write of a transaction:
        # the write lock is taken (or waited for) at once, never upgraded mid-way.
        dbapi_connection.isolation_level = "IMMEDIATE"
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (``alembic upgrade head``)."""
    config = alembic_config()
    try:
        # Alembic's context is process-wide: one migration at a time in a process. Across
        # processes, one migrates while the others wait, then find the schema up to date.
        with _MIGRATING, engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            elif connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(
            f"Base de données {shown(str(engine.url))} inaccessible ou refusée : "
            f"{_first_line(exc)}",
            hint="vérifiez VOICEBOT_DATABASE_URL, que le serveur tourne et les droits",
        ) from None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
