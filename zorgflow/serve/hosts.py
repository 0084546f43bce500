"""Which names ``zorgflow serve`` answers to, against DNS rebinding.

A web page on another site can make the browser send requests to this computer under the
other site's own name (it points that name at 127.0.0.1). The browser then writes that name
in ``Host`` and ``Origin``, so a request naming anything but this server is refused, whatever
address the server listens on: the loopback names with the port, the address listened on when
it is a specific one, and the names given with ``--allow-host``. Listening on every address
(``0.0.0.0``, ``::``) adds no name: it listens on loopback too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ..errors import UsageError

#: the names of this computer that need no --allow-host
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_wildcard(host: str) -> bool:
    """True for an address that means "every address" (``0.0.0.0``, ``::``, empty)."""
    if not host:
        return True
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def host_header(name: str, port: int) -> str:
    """``name`` as a browser writes it in ``Host`` for ``port``: lower case, an IPv6 address
    in brackets, the port added unless ``name`` ends in one."""
    name = name.strip().lower()
    if name.startswith("["):
        return name if "]:" in name else f"{name}:{port}"
    if name.count(":") > 1:
        return f"[{name}]:{port}"
    return name if ":" in name else f"{name}:{port}"


def allowed_hosts(bound: Iterable[str], port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The ``Host`` values to answer: loopback, each specific address in ``bound`` (the
    address given and the one listened on), and the ``extra`` names (``--allow-host``)."""
    names = [*LOOPBACK, *(b for b in bound if not is_wildcard(b)), *extra]
    hosts = {host_header(name, port) for name in names}
    if port == 80:  # a browser leaves the default port out
        hosts |= {h.rsplit(":", 1)[0] for h in hosts}
    return frozenset(hosts)


def check_names(names: Iterable[str]) -> list[str]:
    """The ``--allow-host`` names, checked: a host name or address, with an optional port.
    Raises `UsageError` for anything else (a URL, a path, a space)."""
    checked = []
    for name in names:
        bare = name.strip()
        if not bare or any(c in bare for c in "/ \t@?#") or bare.endswith(":"):
            raise UsageError(f"--allow-host {name!r}: give a host name or address as the "
                             "browser shows it, such as werkplek.example or 192.168.1.20, "
                             "without http:// or a path")
        checked.append(bare)
    return checked
