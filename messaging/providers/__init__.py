"""One folder per provider kind, and the registry of kinds.

Each kind's folder declares in `descriptor.py` everything the rest of the gateway asks about that
kind: the properties it takes (keys, which are required, secret or an address, their ranges), its
backend's dotted path, whether it can place a voice call, its readiness check and its callback
routes. The views of those callbacks live beside it (`callbacks.py`). `registry.py` lists the
kinds, one line each; nothing else compares kind names.
"""
