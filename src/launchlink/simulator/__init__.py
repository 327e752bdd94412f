"""In-memory imitations of the streaming services launchlink talks to.

``create_simulator_app(state)`` serves them all on one ASGI app (see ``docs/simulator.md``);
:class:`SimulatorState` holds their world; :class:`SimulatorUrls` gives connector base URLs.
"""

from launchlink.simulator.app import create_simulator_app
from launchlink.simulator.state import SimulatorState
from launchlink.simulator.urls import SimulatorUrls

__all__ = ["SimulatorState", "SimulatorUrls", "create_simulator_app"]
