"""Configuration from the environment."""

from __future__ import annotations

import pytest

from sigsvc.config import DEFAULT_MAX_CONTENT_LENGTH, ConfigError, from_env


def test_defaults_put_sqlite_in_the_instance_folder(tmp_path):
    config = from_env({}, tmp_path)
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path}/sigsvc.sqlite"
    assert config["MAX_CONTENT_LENGTH"] == DEFAULT_MAX_CONTENT_LENGTH
    assert config["ADMIN_TOKEN_SHA256"] is None


def test_database_url_wins_over_sigsvc_database_url(tmp_path):
    env = {"DATABASE_URL": "postgresql://a/b", "SIGSVC_DATABASE_URL": "sqlite:///c"}
    assert from_env(env, tmp_path)["DATABASE_URL"] == "postgresql://a/b"
    assert from_env({"SIGSVC_DATABASE_URL": "sqlite:///c"}, tmp_path)["DATABASE_URL"] == (
        "sqlite:///c"
    )


@pytest.mark.parametrize("value", ["0", "-1", "1e6", " 5", "+5", "1_000", "ten"])
def test_size_limit_must_be_a_plain_positive_integer(tmp_path, value):
    with pytest.raises(ConfigError):
        from_env({"SIGSVC_MAX_CONTENT_LENGTH": value}, tmp_path)


def test_size_limit_is_read(tmp_path):
    assert from_env({"SIGSVC_MAX_CONTENT_LENGTH": "2048"}, tmp_path)["MAX_CONTENT_LENGTH"] == 2048


def test_retention_days_may_be_zero_but_not_negative(tmp_path):
    assert from_env({"SIGSVC_RETENTION_DAYS": "0"}, tmp_path)["RETENTION_DAYS"] == 0
    with pytest.raises(ConfigError):
        from_env({"SIGSVC_RETENTION_DAYS": "-1"}, tmp_path)
