"""Pausing Python's cyclic garbage collector around bulk work.

The recommend and report stages build millions of small objects that all stay alive
(one verdict per role and granted action: ~22,000 for each role granted ``*``). Each
full collection walks every live object, and allocating that many triggers collection
after collection: on 85 roles granted broad policies, `recommend` spent 49 s with the
collector on and 28 s with it paused, and `report` 98 s against 64 s. Reference counting
still frees everything that is not in a cycle; the collector runs again afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Run the block with the cyclic collector off, restoring its previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
