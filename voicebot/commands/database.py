"""`voicebot db upgrade`, and the store as the other administration commands open it."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from voicebot.config import load_settings
from voicebot.store import Store
from voicebot.store.database import current_revision


@contextmanager
def opened_store() -> Iterator[Store]:
    """The store of VOICEBOT_DATABASE_URL, migrated, closed at the end."""
    store = Store.open(load_settings().database_url)
    try:
        yield store
    finally:
        store.close()


def upgrade(args: argparse.Namespace) -> int:
    with opened_store() as store:  # opening runs the migrations
        revision = current_revision(store.engine)
        store.audit(None, "db_upgrade", store.url, {"revision": revision})
        print(f"Base à jour ({store.url}) : révision {revision}.")
    return 0
