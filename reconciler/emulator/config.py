"""The emulator's knobs in one place, shared by the embedding API, the CLI and the admin endpoint.

Tests drive timing (`training_seconds`, `captions_seconds`, `stopping_seconds`) and faults
(`latency`, `failure_rate`, `lost_response_rate`, `rate_limit_every`, `retry_after`, `seed`)
and Bria's own per-endpoint rate limit (`rate_limit_per_window` requests per `rate_window_s`)
through this one dataclass, so `PUT /_emulator/config` can change any of them at runtime with
the same names the constructor and the CLI flags use. `api_profile` (reference | current)
chooses which API generation is served and is fixed at start.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# Knobs that may be changed at runtime, with the type each must have. `token` is not one of
# them: the admin endpoint has no auth, so it must not be able to change (or reveal) the token.
_RUNTIME_KNOBS: dict[str, type] = {
    "training_seconds": float,
    "captions_seconds": float,
    "stopping_seconds": float,
    "generation_seconds": float,
    "latency": float,
    "failure_rate": float,
    "lost_response_rate": float,
    "rate_limit_every": int,
    "retry_after": float,
    "rate_limit_per_window": int,
    "rate_window_s": float,
    "seed": int,
}
# Which API the emulator speaks: the reference (the contract) or Bria's published OpenAPI
# (training_mode, visual_schema, checkpoints, v2 generation). Fixed for the emulator's life.
API_PROFILES = ("reference", "current")
_RATES = ("failure_rate", "lost_response_rate")


class ConfigError(ValueError):
    """A knob with a value the emulator cannot use."""


@dataclass
class EmulatorConfig:
    """Behaviour and fault settings. `token=None` accepts any non-empty `api_token`."""

    token: str | None = None
    training_seconds: float = 30.0
    captions_seconds: float = 0.2
    stopping_seconds: float = 0.2
    generation_seconds: float = 0.0  # asynchronous (sync=false) results are served after this
    latency: float = 0.0
    failure_rate: float = 0.0
    lost_response_rate: float = 0.0
    rate_limit_every: int = 0
    retry_after: float = 1.0
    rate_limit_per_window: int = 0  # per endpoint; 0 = no limit
    rate_window_s: float = 60.0
    seed: int | None = None
    api_profile: str = "reference"

    @property
    def current(self) -> bool:
        """Serving Bria's current API generation (the published OpenAPI)."""
        return self.api_profile == "current"

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"knob '{name}' must be between 0 and 1, got {value}")
        if self.api_profile not in API_PROFILES:
            raise ConfigError(
                f"api profile '{self.api_profile}' is unknown; use one of {', '.join(API_PROFILES)}"
            )
        for name in (
            "training_seconds",
            "captions_seconds",
            "stopping_seconds",
            "generation_seconds",
            "latency",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"knob '{name}' must not be negative")
        if self.retry_after < 0:
            raise ConfigError("knob 'retry_after' must not be negative")
        if self.rate_limit_per_window < 0:
            raise ConfigError("knob 'rate_limit_per_window' must be 0 (off) or a positive count")
        if self.rate_window_s <= 0:
            raise ConfigError("knob 'rate_window_s' must be a positive number of seconds")
        if self.rate_limit_every < 0:
            raise ConfigError("knob 'rate_limit_every' must be 0 (off) or a positive count")

    def public(self) -> dict[str, Any]:
        """Every knob except the token (which is only reported as set or not)."""
        values = asdict(self)
        values["token"] = "***" if self.token else None
        return values

    def update(self, changes: dict[str, Any]) -> list[str]:
        """Apply runtime changes (all or nothing); returns the names changed."""
        unknown = sorted(set(changes) - set(_RUNTIME_KNOBS))
        if unknown:
            known = ", ".join(sorted(_RUNTIME_KNOBS))
            raise ConfigError(f"unknown knob(s) {', '.join(unknown)}; known knobs: {known}")
        staged = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in changes.items():
            wanted = _RUNTIME_KNOBS[name]
            if name == "seed" and value is None:
                staged[name] = None
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"knob '{name}' must be a number, got {value!r}")
            if wanted is int and not float(value).is_integer():
                raise ConfigError(f"knob '{name}' must be a whole number, got {value!r}")
            staged[name] = wanted(value)
        candidate = EmulatorConfig(**staged)  # validates
        for name in changes:
            setattr(self, name, getattr(candidate, name))
        return sorted(changes)
