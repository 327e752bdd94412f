"""In-memory imitations of the streaming services launchlink talks to.

``create_simulator_app(state)`` serves them all on one ASGI app (see ``docs/simulator.md``);
:class:`SimulatorState` holds their world; :class:`SimulatorUrls` gives connector base URLs.
"""

from launchlink.simulator.app import create_simulator_app
from launchlink.simulator.state import SimulatorState
from launchlink.simulator.urls import SimulatorUrls


def run_simulator(host: str, port: int) -> None:
    """Serve the demo-seeded simulator with uvicorn until interrupted."""
    # Imported lazily so ``python -m launchlink.simulator`` does not import __main__ twice.
    from launchlink.simulator.__main__ import run_simulator as serve

    serve(host, port)


__all__ = ["SimulatorState", "SimulatorUrls", "create_simulator_app", "run_simulator"]
