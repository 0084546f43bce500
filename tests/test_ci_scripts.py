"""The CI's own helper scripts: `.ci/postgres` must hand back its DSN and return, also when it
has to start the server (a server that inherits the DSN pipe keeps `$(.ci/postgres)` waiting
forever; that hung a CI run for its whole 90 minutes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import in_ci

ROOT = Path(__file__).resolve().parent.parent


def _needs_debian_postgres() -> None:
    missing = [tool for tool in ("pg_createcluster", "pg_dropcluster", "pg_lsclusters")
               if shutil.which(tool) is None]
    reason = ""
    if missing:
        reason = f"Debian's postgresql-common is not installed (no {', '.join(missing)})"
    elif os.geteuid() != 0:
        reason = "creating a PostgreSQL cluster needs root"
    if reason:
        if in_ci():
            pytest.fail(f"{reason}; CI=true, so this test must run")
        pytest.skip(reason)


def _version() -> str:
    def numeric(version: str) -> list[int]:
        return [int(part) for part in version.split(".")]

    return max(os.listdir("/usr/lib/postgresql"), key=numeric)


def _start(cluster: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`.ci/postgres` exactly as .ci/run calls it: in a command substitution, which ends only
    when every writer of its pipe has closed it."""
    env = dict(os.environ, ZORGFLOW_PG_CLUSTER=cluster)
    return subprocess.run(["bash", "-c", 'set -e; dsn=$(.ci/postgres); echo "$dsn"'],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _answers(dsn: str) -> bool:
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(dsn, connect_timeout=10) as connection:
        return connection.execute("SELECT 1").fetchone() == (1,)


def test_ci_postgres_starts_a_stopped_server_and_returns_its_dsn() -> None:
    _needs_debian_postgres()
    cluster = "zf_probe_" + uuid.uuid4().hex[:8]
    try:
        done = _start(cluster)
        assert done.returncode == 0, done.stderr
        dsn = done.stdout.strip()
        assert dsn.startswith("postgresql://zorgflow_test:")
        assert _answers(dsn)

        # a second call finds the server running and only prints the DSN
        again = _start(cluster, timeout=60)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == dsn
    finally:
        _drop(cluster)


def _drop(cluster: str) -> None:
    subprocess.run(["pg_dropcluster", "--stop", _version(), cluster],
                   capture_output=True, timeout=120)
