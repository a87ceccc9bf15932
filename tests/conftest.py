"""Shared fixtures. Network access is banned except loopback: an accidental remote call fails loudly."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.doubles.server import ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "examples" / "hasakah"

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class RemoteNetworkBanned(RuntimeError):
    pass


def _is_loopback(host: object) -> bool:
    if host in ("localhost", "localhost.", None, ""):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if not _is_loopback(host):
        raise RemoteNetworkBanned(f"tests may not reach {host!r}: only loopback is allowed")
    return _real_getaddrinfo(host, *args, **kwargs)


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and not _is_loopback(address[0]):
        raise RemoteNetworkBanned(f"tests may not connect to {address[0]!r}: only loopback is allowed")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(self, address)
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_remote_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    # No test may pick up a developer's real credentials or server.
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


@pytest.fixture(scope="session")
def llama_base_url() -> Iterator[str]:
    """A real llama-cpp-python OpenAI-compatible server with the embedded SmolLM2 model, on loopback."""
    from summarizer.providers import llama_server

    with llama_server() as url:
        yield url


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS
