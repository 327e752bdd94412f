"""Connector settings: nesting under the app's LAUNCHLINK_ env, secrets, simulator profile."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from launchlink.connectors.settings import ConnectorsSettings, SpotifySettings
from launchlink.simulator.profile import simulator_connectors


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAUNCHLINK_", env_nested_delimiter="__")
    connectors: ConnectorsSettings = ConnectorsSettings()


def test_connector_settings_come_from_nested_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAUNCHLINK_CONNECTORS__SPOTIFY__CLIENT_ID", "abc")
    monkeypatch.setenv("LAUNCHLINK_CONNECTORS__SPOTIFY__CLIENT_SECRET", "very-secret")
    monkeypatch.setenv("LAUNCHLINK_CONNECTORS__SPOTIFY__QUOTA_MODE", "extended")
    monkeypatch.setenv("LAUNCHLINK_CONNECTORS__YOUTUBE__DAILY_QUOTA_UNITS", "500")
    settings = AppSettings()
    spotify = settings.connectors.spotify
    assert spotify.client_id == "abc"
    assert spotify.client_secret is not None
    assert spotify.client_secret.get_secret_value() == "very-secret"
    assert "very-secret" not in repr(settings)
    assert spotify.quota_mode == "extended"
    assert settings.connectors.youtube.daily_quota_units == 500


def test_legacy_library_endpoints_need_an_extended_quota_app() -> None:
    with pytest.raises(ValidationError):
        SpotifySettings(quota_mode="development", library_endpoints="legacy")
    assert SpotifySettings(quota_mode="extended", library_endpoints="legacy").library_endpoints


def test_the_simulator_profile_points_every_service_at_the_simulator() -> None:
    settings = simulator_connectors("http://sim")
    assert settings.spotify.api_url == "http://sim/spotify/api/v1"
    assert settings.spotify.accounts_url == "http://sim/spotify/accounts"
    assert settings.deezer.api_url.startswith("http://sim/")
    assert settings.tidal.api_url == "http://sim/tidal/api/v2"
    assert settings.youtube.token_url.startswith("http://sim/")
    assert settings.odesli.url.startswith("http://sim/")
    assert settings.spotify.client_id
