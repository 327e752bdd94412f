"""The collector's pause: nested and overlapping pauses resume collection once, at the end,
and only if it was on before."""

from __future__ import annotations

import gc
import threading

from launchlink.kit.gcpause import collection_paused


def test_pauses_nest_and_resume_collection_when_the_last_one_ends() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_pause_overlapping_another_threads_keeps_collection_off_until_both_end() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collection_paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with collection_paused():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # ours ended, the other thread's has not
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_pause_leaves_collection_off_if_it_was_off_before() -> None:
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
