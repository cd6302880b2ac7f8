"""The redis-server test helper: fails loudly (never skips) when Redis is missing."""

from __future__ import annotations

import shutil

import pytest
from support import redis_server
from support.redis_server import RedisServer, RedisServerMissing

from .conftest import start_redis


def test_missing_redis_server_fails_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No redis-server on PATH: a test failure naming apt-get, not a skip."""
    monkeypatch.setattr(redis_server.shutil, "which", lambda name: None)
    with pytest.raises(RedisServerMissing, match="apt-get install redis-server"):
        RedisServer()
    with pytest.raises(pytest.fail.Exception, match="apt-get install redis-server"):
        start_redis()


def test_a_server_can_be_killed_and_restarted_on_its_port() -> None:
    """stop() kills the process; start() brings it back on the same port."""
    assert shutil.which("redis-server")
    with RedisServer() as server:
        port = server.port
        server.stop()
        assert not redis_server._ping(port)
        server.start()
        assert server.port == port
        assert redis_server._ping(port)
