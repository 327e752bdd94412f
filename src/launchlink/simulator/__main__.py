"""``python -m launchlink.simulator --port 8765``: serve the simulator with the demo world."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import uvicorn

from launchlink.simulator.app import create_simulator_app


def run_simulator(host: str, port: int, *, callback_url: str | None = None) -> None:
    """Serve a simulator seeded with the demo catalogue and demo apps until interrupted.

    Besides the simulator's own demo apps, the apps that
    ``simulator_connectors(root)`` uses are registered, so a launchlink instance
    pointed at this simulator works as it does with the embedded one.
    """
    from launchlink.simulator.demo import DEMO_REDIRECT_URIS, demo_apple_public_key_pem, demo_state
    from launchlink.simulator.profile import register_demo_apps

    upcoming = (datetime.now(UTC) + timedelta(days=7)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    state = demo_state(upcoming_release_at=upcoming)
    redirect_uris = [*DEMO_REDIRECT_URIS, *([callback_url] if callback_url else [])]
    register_demo_apps(
        state, redirect_uris=redirect_uris, apple_public_key_pem=demo_apple_public_key_pem()
    )
    app = create_simulator_app(state)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m launchlink.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    run_simulator(args.host, args.port)


if __name__ == "__main__":
    main()
