"""The files ``zorgflow serve`` reads and saves, kept inside their folder.

The folder is fixed when the server starts (the folder named, or the folder of the file
named, as it resolves then). Inside it, only regular files are read or written, never through
a symbolic link: a file that is a link, or that resolves outside the folder, is refused, at
start and again at every read and save. A save writes a temporary file in the same folder,
flushes it to disk and renames it over the old one, so a reader sees the old text or the new
one, never part of either; and it compares the file with the text the page loaded and
replaces it under one lock, so two saves from the same text cannot both succeed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
import threading
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from ..errors import SaveConflict, UsageError
from ..loader import workflow_files

#: a served file larger than this many bytes is not opened (the loader refuses 4 MB anyway)
MAX_FILE_BYTES = 4 * 1024 * 1024

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows: the checks around open remain
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO put in a file's place must not block a read
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class Refused(Exception):
    """A request cannot be done (a served file cannot be read or saved, a request is not
    acceptable); ``status`` is the HTTP answer and ``message`` says what, where and what to do.

    Internal to `zorgflow.serve`: the request handler turns it into an error response.
    """

    def __init__(self, status: HTTPStatus, message: str, *,
                 details: Mapping[str, Any] | None = None,
                 headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        #: more members of the JSON answer, beside ``error`` (a problem-details body)
        self.details = dict(details or {})
        #: more response headers (``Retry-After``)
        self.headers = tuple(headers)


def digest(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8), to notice a file changed on disk."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def served_files(path: Path) -> dict[str, Path]:
    """The files ``serve`` may read and save, by name: ``path`` itself, or the ``*.yaml`` and
    ``*.yml`` files directly in the folder ``path``. Symbolic links and anything that is not
    a regular file are left out. Raises `UsageError` when nothing is left to serve."""
    if path.is_symlink() and not path.is_dir():
        raise UsageError(f"{path}: is a symbolic link, which zorgflow serve does not follow; "
                         f"serve the file it points to ({path.resolve()}) instead")
    if path.is_file():
        file = path.parent.resolve() / path.name
        refusal = why_refused(file)
        if refusal is not None:
            raise UsageError(refusal)
        return {file.name: file}
    if path.is_dir():
        folder = path.resolve()
        files = [folder / f.name for f in workflow_files(folder)]
        plain = {f.name: f for f in files if why_refused(f) is None}
        if plain:
            return plain
        if files:
            raise UsageError(f"{path}: its *.yaml files are all symbolic links or not regular "
                             "files, which zorgflow serve does not follow; serve the folder "
                             "they point to instead")
        raise UsageError(f"{path}: no *.yaml files in this folder")
    raise UsageError(f"{path}: no such file or folder")


def why_refused(file: Path) -> str | None:
    """Why ``file`` may not be served now (a symbolic link, outside its folder, not a
    regular file, gone), or None when it may."""
    try:
        info = file.lstat()
    except FileNotFoundError:
        return f"{file.name}: no longer exists in the folder served; reload the page"
    except OSError as exc:
        return f"{file.name}: cannot be read ({exc.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return (f"{file.name}: is a symbolic link, which zorgflow serve does not follow "
                "(it could lead outside the folder served); serve the file it points to")
    if not stat.S_ISREG(info.st_mode):
        return f"{file.name}: is not a regular file"
    if file.resolve().parent != file.parent:
        return (f"{file.name}: the folder served now resolves elsewhere ({file.resolve()}); "
                "restart zorgflow serve on the folder you mean")
    return None


def _check(file: Path) -> None:
    refusal = why_refused(file)
    if refusal is not None:
        gone = refusal.endswith("reload the page")
        raise Refused(HTTPStatus.NOT_FOUND if gone else HTTPStatus.FORBIDDEN, refusal)


def read_text(file: Path) -> str:
    """The text of the served ``file``, read without following a symbolic link. Raises
    `Refused` for a link, a file outside its folder, a large or non-UTF-8 file."""
    _check(file)
    try:
        fd = os.open(file, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _NONBLOCK)
    except OSError as exc:
        _check(file)  # a link or a file gone since the check: say so
        raise Refused(HTTPStatus.INTERNAL_SERVER_ERROR,
                      f"{file.name}: cannot be read ({exc.strerror})") from None
    with open(fd, encoding="utf-8", closefd=True) as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Refused(HTTPStatus.FORBIDDEN, f"{file.name}: is not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"{file.name}: is {info.st_size:,} bytes; zorgflow serve edits "
                          f"files up to {MAX_FILE_BYTES:,} bytes")
        try:
            return handle.read()
        except UnicodeDecodeError as exc:
            raise Refused(HTTPStatus.UNPROCESSABLE_ENTITY,
                          f"{file.name}: is not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start}); save it as UTF-8 in another editor") from None


def _lock(file: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(file, threading.Lock())


def replace_text(file: Path, text: str, base: str) -> None:
    """Replace the served ``file`` by ``text``, whole, if it still holds the text whose
    `digest` is ``base``. Raises `SaveConflict` when it changed, `Refused` when it may not
    be written; on any error the file is left as it was."""
    with _lock(file):
        ensure_unchanged(file, base)
        _write_whole(file, text)


def ensure_unchanged(file: Path, base: str) -> None:
    """Raise `SaveConflict` unless the served ``file`` still holds the text whose `digest`
    is ``base`` (`Refused` when it may not be read). `replace_text` checks again under its
    lock: this is for refusing early, before a save does more work."""
    if digest(read_text(file)) != base:
        raise SaveConflict(f"{file.name}: the file changed on disk since this page loaded "
                           "it (another save, or another editor); reload the page (and "
                           "copy your edits) first")


def _write_whole(file: Path, text: str) -> None:
    mode = stat.S_IMODE(file.lstat().st_mode)
    fd, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.",
                                     suffix=".zorgflow-save")
    try:
        with open(fd, "w", encoding="utf-8", closefd=True) as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        _check(file)  # still a plain file of the folder: replace it, not what a link names
        os.replace(temporary, file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(file.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a folder)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | _CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
