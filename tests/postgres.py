"""A real PostgreSQL for the tests: the one `scripts/postgres.sh` starts.

Each user gets a schema of its own, dropped afterwards. An unreachable server fails
the test with what to do: it is never a reason to skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

DEFAULT_POSTGRES_URL = "postgresql+psycopg://voicebot:voicebot@127.0.0.1:5432/voicebot_test"


def postgres_url() -> str:
    return os.environ.get("VOICEBOT_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose ``search_path`` is a fresh schema; the schema is dropped after."""
    base = postgres_url()
    engine = create_engine(base, pool_pre_ping=True)  # survives a server restart (e2e faults)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    problem = None
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except OperationalError as exc:
        problem = str(exc.orig).strip().splitlines()[0]
    if problem is not None:
        engine.dispose()
        shown = make_url(base).render_as_string(hide_password=True)
        pytest.fail(
            f"PostgreSQL injoignable à {shown} ({problem}) — lancez scripts/postgres.sh "
            "(ou réglez VOICEBOT_TEST_POSTGRES_URL)",
            pytrace=False,
        )
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()
