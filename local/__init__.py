"""The local stack: provider emulator, AWS on loopback (moto), local API, demo and benchmark.

The layer (`shared/`, package `contentgen`) is what Lambda puts on the path from the layer; the
local modules import it too (the emulator serves the catalog's models), so `python -m local.<x>`
puts `shared/` first on the path here, before any of them loads."""

import os
import sys

_SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "shared")
if _SHARED not in sys.path:
    sys.path.insert(0, _SHARED)
