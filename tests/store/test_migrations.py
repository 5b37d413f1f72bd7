"""The schema comes from the migrations alone, from an empty database, and matches the models."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from voicebot.config import load_settings
from voicebot.errors import ConfigError, StoreError
from voicebot.store import Store
from voicebot.store.database import current_revision
from voicebot.store.schema import Base

TABLES = {
    "alembic_version",
    "audit_log",
    "calls",
    "changes",
    "handovers",
    "login_attempts",
    "sessions",
    "turns",
    "users",
}


def test_migrations_create_the_schema_from_empty(store_url: str) -> None:
    empty = create_engine(store_url)
    assert inspect(empty).get_table_names() == []
    empty.dispose()

    store = Store.open(store_url)
    try:
        assert set(inspect(store.engine).get_table_names()) == TABLES
        assert current_revision(store.engine) == "0001"
        assert store.version() == 0
        with store.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        store.close()


def test_opening_again_is_harmless_and_keeps_the_data(store_url: str) -> None:
    first = Store.open(store_url)
    first.audit(None, "test", "avant")
    first.close()
    second = Store.open(store_url)
    try:
        assert [e.target for e in second.audit_log()] == ["avant"]
        assert current_revision(second.engine) == "0001"
    finally:
        second.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/sub/folder/voicebot.db")  # folders created
    try:
        with store.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        store.close()


def test_an_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="inaccessible ou refusée") as refused:
        Store.open("postgresql://voicebot:secret@127.0.0.1:1/none")
    assert "secret" not in str(refused.value) and "***" in str(refused.value)
    assert refused.value.exit_code == 10
    with pytest.raises(StoreError, match="non prise en charge"):
        Store.open("mysql://localhost/voicebot")


def test_the_setting_is_checked_at_start() -> None:
    assert load_settings(database_url="  ").database_url is None
    with pytest.raises(ConfigError, match="VOICEBOT_DATABASE_URL"):
        load_settings(database_url="mysql://localhost/voicebot")
    settings = load_settings()
    assert settings.retention_content_days == 183 and settings.retention_stats_days == 365
    assert settings.purge_interval_s == 3600 and settings.instance_id.endswith(f"-{os.getpid()}")


def test_instances_starting_together_migrate_once(store_url: str) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        stores = list(pool.map(Store.open, [store_url] * 3))
    try:
        assert {current_revision(s.engine) for s in stores} == {"0001"}
        assert stores[0].version() == 0
    finally:
        for opened in stores:
            opened.close()
