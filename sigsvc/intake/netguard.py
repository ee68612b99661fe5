"""Where the fetcher may connect: public addresses only, checked after DNS resolution.

A certificate names its own responder and issuer URLs, so an attacker chooses them. Every
connection of the fetcher goes through `GuardedAdapter`: the host is resolved once, every
address must be global unicast (no loopback, private, link-local, shared, reserved, multicast
or unspecified address; IPv4-mapped IPv6 judged as IPv4), and the socket is opened to exactly
the address that was checked (no second lookup for DNS rebinding to exploit). TLS still names
and verifies the original host. `allow_private=True` is for tests only: their responders
listen on 127.0.0.1 (SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES=1).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

TEST_ENV = "SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES"


class AddressRefused(NewConnectionError):
    """The host resolves to an address the fetcher may not reach."""


def test_setting() -> bool:
    return os.environ.get(TEST_ENV, "") == "1"


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_public(host: str, port: int) -> str:
    """The first address of `host`; raises OSError naming the refusal when any is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host!r}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    refused = [a for a in addresses if not is_public(a)]
    if refused or not addresses:
        raise OSError(f"{host!r} resolves to a non-public address {refused[:1]}")
    return addresses[0]


def _guarded_new_conn(conn: HTTPConnection, allow_private: bool) -> Any:
    if not allow_private:
        try:
            conn._dns_host = resolve_public(conn._dns_host, conn.port or 0)
        except OSError as exc:
            raise AddressRefused(conn, str(exc)) from exc
    return None


class _HTTP(HTTPConnection):
    allow_private = False

    def _new_conn(self) -> socket.socket:
        _guarded_new_conn(self, self.allow_private)
        return super()._new_conn()


class _HTTPS(HTTPSConnection):
    allow_private = False

    def _new_conn(self) -> socket.socket:
        _guarded_new_conn(self, self.allow_private)
        return super()._new_conn()


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTP


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPS


class GuardedAdapter(HTTPAdapter):
    """requests adapter whose connections check the resolved address (see the module doc)."""

    def __init__(self, *, allow_private: bool = False, **kwargs: Any) -> None:
        self.allow_private = allow_private
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        allow = self.allow_private
        http = type("GuardedHTTP", (_HTTP,), {"allow_private": allow})
        https = type("GuardedHTTPS", (_HTTPS,), {"allow_private": allow})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (_HTTPPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSPool", (_HTTPSPool,), {"ConnectionCls": https}),
        }
