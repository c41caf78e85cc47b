"""A local emulator of Bria's Tailored Generation API (see docs/emulator.md).

Routing (`app.py`), behaviour (`behaviour.py`, `training.py`, `rules.py`, `generation.py`) and
storage (`storage.py`) are separate modules, moto-style; `server.EmulatorServer` serves it on a
real socket for tests and for the embedded default.
"""
