"""`open_store`: a store from one text, as a command line or a setting gives it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engine import Engine
from .base import Store
from .postgres import PostgresStore
from .sqlite import SQLiteStore


def open_store(where: str | Path, engine: Engine, **options: Any) -> Store:
    """A `PostgresStore` for a ``postgresql://`` (or ``postgres://``) DSN, else a
    `SQLiteStore` on the file ``where``. ``options`` go to the store's constructor."""
    if isinstance(where, str) and where.startswith(("postgresql://", "postgres://")):
        return PostgresStore(where, engine, **options)
    if not isinstance(where, str | Path):
        raise TypeError(f"where must be a DSN or a file path, not {type(where).__name__}")
    return SQLiteStore(where, engine, **options)
