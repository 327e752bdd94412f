"""Value types and helpers shared by every connector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from launchlink.connectors._common import same_upc, upc_variants
from launchlink.connectors.base import Connector, TokenSet
from launchlink.connectors.errors import NotAllowed, RateLimited
from launchlink.connectors.oauth import new_pkce_pair, pkce_challenge
from launchlink.kit.clock import FrozenClock


def test_a_token_set_never_shows_its_tokens_in_repr() -> None:
    tokens = TokenSet(access_token="access-SECRET-1", refresh_token="refresh-SECRET-2")
    assert "SECRET" not in repr(tokens)
    assert "SECRET" not in str(tokens)


def test_a_token_set_knows_when_it_is_about_to_expire() -> None:
    clock = FrozenClock(datetime(2026, 9, 4, tzinfo=UTC))
    tokens = TokenSet(access_token="a", expires_at=clock.now() + timedelta(minutes=10))
    assert not tokens.expires_within(clock)
    clock.advance(timedelta(minutes=6))
    assert tokens.expires_within(clock)
    assert not TokenSet(access_token="a").expires_within(clock)


def test_upc_variants_try_the_given_form_first_then_padded_and_unpadded_forms() -> None:
    assert upc_variants("602445868162") == ["602445868162", "0602445868162", "00602445868162"]
    assert upc_variants("00602445868162") == [
        "00602445868162",
        "602445868162",
        "0602445868162",
    ]
    assert upc_variants("") == []


def test_same_upc_ignores_leading_zeros() -> None:
    assert same_upc("00602445868162", "602445868162")
    assert not same_upc("602445868162", "602445868163")
    assert not same_upc(None, "1")


def test_pkce_challenge_is_s256_base64url_without_padding() -> None:
    # RFC 7636 appendix B
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    pair = new_pkce_pair()
    assert 43 <= len(pair.verifier) <= 128
    assert pair.challenge == pkce_challenge(pair.verifier)


def test_errors_carry_their_service_status_and_hints() -> None:
    error = RateLimited("slow down", retry_after=None, service="spotify", status=429)
    assert error.retry_after is None
    assert str(error) == "spotify: slow down (HTTP 429)"
    refused = NotAllowed("nope", reason="user_not_registered", service="spotify", status=403)
    assert refused.reason == "user_not_registered"


def test_connector_is_a_runtime_checkable_protocol() -> None:
    assert not isinstance(object(), Connector)
