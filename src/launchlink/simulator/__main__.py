"""``python -m launchlink.simulator --port 8765``: serve the simulator with the demo world."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import uvicorn

from launchlink.simulator.app import create_simulator_app


def run_simulator(host: str, port: int) -> None:
    """Serve a simulator seeded with the demo catalogue and demo apps until interrupted."""
    from launchlink.simulator.demo import demo_state

    upcoming = (datetime.now(UTC) + timedelta(days=7)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    app = create_simulator_app(demo_state(upcoming_release_at=upcoming))
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m launchlink.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    run_simulator(args.host, args.port)


if __name__ == "__main__":
    main()
