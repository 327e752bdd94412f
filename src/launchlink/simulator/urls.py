"""Base URLs of every imitated service, for a simulator served at ``root``.

``SimulatorUrls("http://127.0.0.1:8765").spotify_api`` is what a connector uses
instead of ``https://api.spotify.com/v1``; when the simulator is mounted inside the
main app, pass the mount URL (e.g. ``http://localhost:8000/_sim``).
"""

from __future__ import annotations

from dataclasses import dataclass

SPOTIFY_ACCOUNTS = "/spotify/accounts"
SPOTIFY_API = "/spotify/api/v1"
APPLE = "/apple"
APPLE_API = "/apple/v1"
DEEZER_API = "/deezer/api"
DEEZER_CONNECT = "/deezer/connect"
TIDAL_LOGIN = "/tidal/login"
TIDAL_AUTH = "/tidal/auth"
TIDAL_API = "/tidal/api/v2"
SOUNDCLOUD_SECURE = "/soundcloud/secure"
SOUNDCLOUD_API = "/soundcloud/api"
GOOGLE_OAUTH = "/google/oauth"
YOUTUBE_API = "/google/youtube/v3"
ODESLI = "/odesli/v1-alpha.1"
TWILIO = "/twilio"
CONTROL = "/_control"


@dataclass(frozen=True, slots=True)
class SimulatorUrls:
    root: str

    def _at(self, path: str) -> str:
        return self.root.rstrip("/") + path

    @property
    def spotify_accounts(self) -> str:
        """Replaces ``https://accounts.spotify.com`` (``/authorize``, ``/api/token``)."""
        return self._at(SPOTIFY_ACCOUNTS)

    @property
    def spotify_api(self) -> str:
        """Replaces ``https://api.spotify.com/v1``."""
        return self._at(SPOTIFY_API)

    @property
    def apple_authorize(self) -> str:
        """The simulator's stand-in for MusicKit JS ``authorize()`` (a consent page)."""
        return self._at(APPLE + "/authorize")

    @property
    def apple_api(self) -> str:
        """Replaces ``https://api.music.apple.com/v1``."""
        return self._at(APPLE_API)

    @property
    def deezer_api(self) -> str:
        """Replaces ``https://api.deezer.com``."""
        return self._at(DEEZER_API)

    @property
    def deezer_connect(self) -> str:
        """Replaces ``https://connect.deezer.com`` (``/oauth/auth.php``,
        ``/oauth/access_token.php``)."""
        return self._at(DEEZER_CONNECT)

    @property
    def tidal_login(self) -> str:
        """Replaces ``https://login.tidal.com`` (``/authorize``)."""
        return self._at(TIDAL_LOGIN)

    @property
    def tidal_auth(self) -> str:
        """Replaces ``https://auth.tidal.com`` (``/v1/oauth2/token``)."""
        return self._at(TIDAL_AUTH)

    @property
    def tidal_api(self) -> str:
        """Replaces ``https://openapi.tidal.com/v2``."""
        return self._at(TIDAL_API)

    @property
    def soundcloud_secure(self) -> str:
        """Replaces ``https://secure.soundcloud.com`` (``/authorize``, ``/oauth/token``)."""
        return self._at(SOUNDCLOUD_SECURE)

    @property
    def soundcloud_api(self) -> str:
        """Replaces ``https://api.soundcloud.com``."""
        return self._at(SOUNDCLOUD_API)

    @property
    def google_oauth(self) -> str:
        """Replaces Google's ``/o/oauth2/v2/auth`` (here ``/auth``) and
        ``https://oauth2.googleapis.com/token`` (here ``/token``)."""
        return self._at(GOOGLE_OAUTH)

    @property
    def youtube_api(self) -> str:
        """Replaces ``https://www.googleapis.com/youtube/v3``."""
        return self._at(YOUTUBE_API)

    @property
    def odesli(self) -> str:
        """Replaces ``https://api.song.link/v1-alpha.1``."""
        return self._at(ODESLI)

    @property
    def control(self) -> str:
        return self._at(CONTROL)
