import socket

import httpx
import pytest

from tests.conftest import RemoteNetworkBanned


def test_remote_hosts_are_refused() -> None:
    with pytest.raises(RemoteNetworkBanned):
        httpx.get("https://api.openai.com/v1/models", timeout=2)


def test_remote_ip_literals_are_refused() -> None:
    with socket.socket() as s, pytest.raises(RemoteNetworkBanned):
        s.connect(("192.0.2.1", 443))


def test_loopback_is_allowed(scripted) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(f"{scripted.base_url}/models", timeout=5)
    assert response.json()["data"][0]["id"] == scripted.model
