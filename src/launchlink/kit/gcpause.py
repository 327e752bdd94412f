"""Pause the cyclic garbage collector for a bounded burst of allocation-heavy work.

An analytics batch (20,000 events) builds a few hundred thousand short-lived dicts and
tuples; each 700 of them start a young collection that walks every young object, and
the burst promotes enough to start full collections that walk the process's long-lived
caches too. None of it is garbage a collection could free (no cycles: the rows are
dropped by reference count when the batch is written). Measured: a quarter of the
ingest's CPU time (bench/analytics.py). Collections resume when the last pause ends;
pauses nest and may overlap across threads (a counter, not a flag).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def collection_paused() -> Iterator[None]:
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
