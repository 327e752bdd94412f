"""Names for lease holders (fulfilment workers, outbox dispatchers).

A lease row records who holds it (``lease_owner``) and every write of the holder is fenced
by that name, so the name must be unique per running instance — never reused by a restart.
"""

from __future__ import annotations

import os
import socket
import uuid


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
