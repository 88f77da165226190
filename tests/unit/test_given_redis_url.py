"""WiredeskSettings.given_redis_url: whether the environment named a Redis (demo/eval ask it).

Unset means `wiredesk demo` and `wiredesk eval` start a private embedded server, so the default
URL must not count as given.
"""

from __future__ import annotations

import pytest

from wiredesk.settings import WiredeskSettings


@pytest.fixture(autouse=True)
def _no_redis_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "WIREDESK_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)


def test_unset_is_none_although_a_default_url_exists() -> None:
    settings = WiredeskSettings()
    assert settings.given_redis_url is None
    assert settings.redis_url == "redis://localhost:6379/0"


def test_plain_redis_url_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://10.0.0.5:6380/2")
    assert WiredeskSettings().given_redis_url == "redis://10.0.0.5:6380/2"


def test_prefixed_name_is_given_and_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREDESK_REDIS_URL", "redis://a:1/0")
    assert WiredeskSettings().given_redis_url == "redis://a:1/0"
    monkeypatch.setenv("REDIS_URL", "redis://b:2/0")
    assert WiredeskSettings().given_redis_url == "redis://a:1/0"


def test_empty_value_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    assert WiredeskSettings().given_redis_url is None


def test_a_url_passed_by_the_caller_is_given() -> None:
    assert WiredeskSettings(redis_url="redis://c:3/0").given_redis_url == "redis://c:3/0"
