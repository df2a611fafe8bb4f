"""One typed settings layer: every variable validated, every bad value named once, no secret echoed."""

from __future__ import annotations

import pytest

from db.config import DEFAULT_DEMO_PATH, ConfigError, load_config, load_settings

PG = "postgresql+psycopg://reader:s3cret-password@db.internal:5432/app"


def test_nothing_configured_is_the_embedded_demo():
    config = load_config({})
    assert config.demo and config.read_url == f"sqlite:///{DEFAULT_DEMO_PATH}" == config.write_url
    assert config.statement_timeout_ms == 15_000


def test_a_read_url_alone_writes_through_the_same_url_but_says_no_write_url_was_given():
    config = load_config({"DATABASE_URL": PG})
    assert (config.demo, config.read_url, config.write_url, config.write_configured) == (False, PG, PG, False)
    both = load_config({"DATABASE_URL": PG, "CANARYWATCH_WRITE_URL": PG.replace("reader", "writer")})
    assert both.write_configured and both.write_url.startswith("postgresql+psycopg://writer")


@pytest.mark.parametrize(("value", "says"), [
    ("   ", "DATABASE_URL is blank"),
    ("\t\n", "DATABASE_URL is blank"),
    ("postgres://u@h/db", "must name the driver explicitly"),
    ("mysql://u:pw@h/db", r"supports postgresql\+psycopg:// and sqlite://"),
    ("not a url", "is not a database URL"),
])
def test_a_blank_or_malformed_database_url_is_an_error_not_the_demo(value, says):
    with pytest.raises(ConfigError, match=says):
        load_config({"DATABASE_URL": value})


def test_a_database_url_with_a_password_is_never_echoed():
    with pytest.raises(ConfigError) as raised:
        load_config({"DATABASE_URL": "mysql://u:s3cret-password@h/db"})
    assert "s3cret" not in str(raised.value)


def test_every_bad_value_is_named_once_in_one_message():
    with pytest.raises(ConfigError) as raised:
        load_settings({"CANARYWATCH_STATEMENT_TIMEOUT_MS": "soon", "CANARYWATCH_SUMMARY_REFRESH": "maybe",
                       "CANARYWATCH_COOKIE_EXPIRY_DAYS": "365", "CANARYWATCH_COOKIE_KEY": "k" * 40})
    message = str(raised.value)
    for name in ("CANARYWATCH_STATEMENT_TIMEOUT_MS", "CANARYWATCH_SUMMARY_REFRESH", "CANARYWATCH_COOKIE_EXPIRY_DAYS"):
        assert message.count(name) == 1, message
    assert "kkkk" not in message


def test_a_long_bad_value_is_quoted_at_most_80_characters():
    with pytest.raises(ConfigError) as raised:
        load_settings({"CANARYWATCH_STATEMENT_TIMEOUT_MS": "9" * 10 + "x" * 10_000})
    assert "x" * 81 not in str(raised.value) and "…" in str(raised.value)


def test_values_are_typed_and_blank_optional_values_fall_back_to_their_default():
    s = load_settings({"CANARYWATCH_STATEMENT_TIMEOUT_MS": "2500", "CANARYWATCH_SUMMARY_REFRESH": "off",
                       "CANARYWATCH_UPSTREAM_ENV_FILE": " ", "CANARYWATCH_COOKIE_EXPIRY_DAYS": "0.5"})
    assert (s.statement_timeout_ms, s.summary_refresh, s.upstream_env_file, s.cookie_expiry_days) == (
        2500, False, None, 0.5)
    assert load_settings({"CANARYWATCH_STATEMENT_TIMEOUT_MS": ""}).statement_timeout_ms == 15_000


def test_the_process_environment_is_read_when_no_mapping_is_given(monkeypatch):
    monkeypatch.setenv("CANARYWATCH_STATEMENT_TIMEOUT_MS", "1234")
    assert load_settings().statement_timeout_ms == 1234
    monkeypatch.setenv("CANARYWATCH_STATEMENT_TIMEOUT_MS", "0")
    with pytest.raises(ConfigError, match="CANARYWATCH_STATEMENT_TIMEOUT_MS"):
        load_settings()
