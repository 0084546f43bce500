"""Shared fixtures: the store back ends the store tests run against."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_DSN_VARIABLE = "ZORGFLOW_TEST_POSTGRES_DSN"


def in_ci() -> bool:
    """CI must prove what a developer's machine may skip."""
    return os.environ.get("CI", "").lower() == "true"


def postgres_dsn() -> str:
    """The DSN of the test PostgreSQL, or skip (fail under CI) saying how to get one."""
    dsn = os.environ.get(POSTGRES_DSN_VARIABLE)
    if dsn:
        return dsn
    why = (f"no PostgreSQL for the store tests: set {POSTGRES_DSN_VARIABLE} "
           "(`export ZORGFLOW_TEST_POSTGRES_DSN=$(.ci/postgres)` starts one)")
    if in_ci():
        pytest.fail(why)
    pytest.skip(why)


class Backend:
    """Opens stores of one back end on one fresh database (a file, or a PostgreSQL schema)."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        self.name = name
        self.path = tmp_path / "cases.db"
        self.schema = "t_" + uuid.uuid4().hex[:12]
        self.dsn = postgres_dsn() if name == "postgres" else ""
        self.stores: list = []

    def open(self, engine, **options):
        from zorgflow.store import PostgresStore, SQLiteStore

        if self.name == "sqlite":
            store = SQLiteStore(self.path, engine, **options)
        else:
            store = PostgresStore(self.dsn, engine, schema=self.schema, **options)
        self.stores.append(store)
        return store

    def spec(self) -> tuple[str, str, str]:
        """What a worker process needs to open the same store."""
        return self.name, str(self.path) if self.name == "sqlite" else self.dsn, self.schema

    def cleanup(self) -> None:
        for store in self.stores:
            store.close()
        if self.name == "postgres":
            import psycopg

            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each store test runs against SQLite and against PostgreSQL."""
    chosen = Backend(request.param, tmp_path)
    yield chosen
    chosen.cleanup()
