"""One database connection per thread and per process, closed when its thread ends."""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class Slot(Generic[C]):
    """A thread's connection and what the store tracks about it."""

    __slots__ = ("__weakref__", "conn", "depth", "locking", "pid")

    def __init__(self, conn: C) -> None:
        self.conn = conn
        self.pid = os.getpid()
        self.depth = 0  # 0: no transaction open; 1: inside transaction() or one step
        self.locking = False  # inside transaction(): load and due lock what they return


class ThreadConnections(Generic[C]):
    """Connections made by ``connect``, one per thread.

    A thread's connection is closed when the thread ends (thread-per-request servers would
    otherwise pile them up). A forked child never uses, nor closes, a connection it inherited
    from its parent: it opens its own.
    """

    def __init__(self, connect: Callable[[], C]) -> None:
        self._connect = connect
        self._local = threading.local()
        self._open: dict[C, int] = {}  # connection -> the process that opened it
        self._lock = threading.Lock()

    def slot(self) -> Slot[C]:
        """This thread's slot, connecting first if needed."""
        slot: Slot[C] | None = getattr(self._local, "slot", None)
        if slot is None or slot.pid != os.getpid():
            conn = self._connect()
            slot = Slot(conn)
            with self._lock:
                self._open[conn] = slot.pid
            weakref.finalize(slot, _release, conn, slot.pid, self._open, self._lock)
            self._local.slot = slot
        return slot

    def current(self) -> Slot[C] | None:
        """This thread's slot if it has one (in this process)."""
        slot: Slot[C] | None = getattr(self._local, "slot", None)
        return slot if slot is not None and slot.pid == os.getpid() else None

    def replace(self) -> Slot[C]:
        """A new connection for this thread (its old one is closed)."""
        self._local.slot = None
        return self.slot()

    def close_all(self) -> None:
        """Close every connection this process opened."""
        with self._lock:
            conns = list(self._open.items())
            self._open.clear()
        for conn, pid in conns:
            _release(conn, pid, {}, self._lock)
        self._local = threading.local()


def _release(conn: Any, pid: int, registry: dict[Any, int],
             lock: threading.Lock) -> None:
    if os.getpid() != pid:
        return  # the parent's connection, inherited by fork: closing it would end the parent's
    with lock:
        registry.pop(conn, None)
    with contextlib.suppress(Exception):  # best effort: the server may be gone already
        conn.close()
