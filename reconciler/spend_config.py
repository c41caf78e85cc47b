"""The project's config file, `reconciler.yaml`: the policy gates and the training pricing.

Looked for in the current directory, then at the repository root (the first found is used; none
means no policies and no pricing). `--pricing FILE` reads the pricing from another file (a
`pricing:` mapping, or the mapping alone). Shape:

    policies:
      max-trainings: {level: soft, limit: 2}
      max-training-hours: {level: hard, limit: 8}
      no-delete-completed-model: advisory        # or {level: advisory}
      no-retrain-completed-model: soft
    pricing:
      currency: USD
      light: {per_hour: 12.5}
      max: {per_training: 90}

A mistake is one line naming the file, the line and the field, and the fix (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, cast

from reconciler.budget import Price, Pricing
from reconciler.errors import ReconcilerError
from reconciler.manifest.diagnostics import DiagnosticSink
from reconciler.manifest.discovery import CONFIG_FILE
from reconciler.manifest.yaml_loader import YamlDocument, load_yaml_file
from reconciler.policies import LEVELS, POLICIES, Level, PolicyRule
from reconciler.workspace import repository_root


class SpendConfigError(ReconcilerError):
    """reconciler.yaml or the --pricing file cannot be used."""


@dataclass(frozen=True)
class SpendConfig:
    rules: tuple[PolicyRule, ...] = ()
    pricing: Pricing | None = None
    source: str | None = None  # the config file read, if any


def find_config() -> Path | None:
    for folder in (Path.cwd(), repository_root()):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def load_spend_config(pricing_file: str | None = None) -> SpendConfig:
    """The policies and pricing of `reconciler.yaml`; `pricing_file` replaces its pricing."""
    path = find_config()
    rules: tuple[PolicyRule, ...] = ()
    pricing: Pricing | None = None
    if path is not None:
        document = _document(path)
        data = document.data or {}
        _expect_mapping(document, data, (), "the file")
        unknown = sorted(set(data) - {"policies", "pricing"})
        if unknown:
            _fail(
                document, (unknown[0],), f"unknown key '{unknown[0]}' (expected policies, pricing)"
            )
        rules = _rules(document, data.get("policies"))
        if data.get("pricing") is not None:
            pricing = _pricing(document, data["pricing"], ("pricing",))
    if pricing_file is not None:
        document = _document(Path(pricing_file))
        data = document.data
        inner = data.get("pricing") if isinstance(data, dict) and "pricing" in data else data
        where: tuple[str, ...] = ("pricing",) if inner is not data else ()
        pricing = _pricing(document, inner, where)
    return SpendConfig(rules, pricing, str(path) if path else None)


def _document(path: Path) -> YamlDocument:
    sink = DiagnosticSink()
    if not path.is_file():
        raise SpendConfigError(f"pricing file '{path}' does not exist: check the --pricing path")
    documents, _ = load_yaml_file(path, str(path), sink)
    problems = [d for d in sink.sorted() if d.severity == "error"]
    if problems:
        raise SpendConfigError(str(problems[0]))
    if len(documents) != 1:
        raise SpendConfigError(
            f"{path}:1:1: error: expected one YAML document, found {len(documents)}"
        )
    return documents[0]


def _fail(document: YamlDocument, path: tuple[Any, ...], message: str) -> NoReturn:
    mark = document.key_mark(path) if path else document.start
    field = ".".join(str(p) for p in path) or "(top)"
    raise SpendConfigError(f"{document.file}:{mark.line}:{mark.col}: {field}: {message}")


def _expect_mapping(document: YamlDocument, value: Any, path: tuple[Any, ...], what: str) -> None:
    if not isinstance(value, dict):
        _fail(document, path, f"{what} must be a mapping")


def _number(document: YamlDocument, value: Any, path: tuple[Any, ...]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        _fail(document, path, f"{value!r} is not a number of 0 or more")
    return float(value)


#: Other words accepted for a policy's level and limit (Sentinel says "enforcement level").
LEVEL_KEYS = ("level", "enforcement_level", "enforcement")
LIMIT_KEYS = ("limit", "max", "maximum", "value", "threshold")


def _rules(document: YamlDocument, policies: Any) -> tuple[PolicyRule, ...]:
    """`policies:` as a mapping (name -> level, or {level, limit}) or a list of {name, ...}."""
    if policies is None:
        return ()
    entries: list[tuple[tuple[Any, ...], Any, Any]] = []
    if isinstance(policies, list | tuple):
        for n, item in enumerate(policies):
            _expect_mapping(document, item, ("policies", n), "a policy")
            entries.append((("policies", n), item.get("name"), item))
    else:
        _expect_mapping(document, policies, ("policies",), "policies")
        entries = [(("policies", name), name, setting) for name, setting in policies.items()]
    return tuple(_rule(document, path, name, setting) for path, name, setting in entries)


def _rule(document: YamlDocument, path: tuple[Any, ...], name: Any, setting: Any) -> PolicyRule:
    if name not in POLICIES:
        _fail(document, path, f"unknown policy {name!r} (known: {', '.join(POLICIES)})")
    spec = {"level": setting} if isinstance(setting, str) else setting
    _expect_mapping(document, spec, path, f"policy '{name}'")
    level_key = next((k for k in LEVEL_KEYS if k in spec), "level")
    level = spec.get(level_key)
    if level not in LEVELS:
        where = (*path, level_key) if isinstance(setting, dict) else path
        _fail(document, where, f"level {level!r} is not one of {', '.join(LEVELS)}")
    limit = None
    if POLICIES[name]:
        limit_key = next((k for k in LIMIT_KEYS if k in spec), None)
        if limit_key is None:
            _fail(document, path, f"policy '{name}' needs a limit, e.g. {{level: soft, limit: 2}}")
        limit = _number(document, spec[limit_key], (*path, limit_key))
    return PolicyRule(name, cast(Level, level), limit)


PRICE_KEYS = {
    "per_hour": "per_hour",
    "per_training_hour": "per_hour",
    "cost_per_hour": "per_hour",
    "hourly": "per_hour",
    "per_training": "per_training",
    "cost_per_training": "per_training",
}


def _pricing(document: YamlDocument, data: Any, path: tuple[Any, ...]) -> Pricing:
    _expect_mapping(document, data, path, "pricing")
    currency = data.get("currency", "USD")
    if not isinstance(currency, str) or not currency:
        _fail(document, (*path, "currency"), "currency must be a word such as USD")
    prices = {}
    for version, price in data.items():
        if version == "currency":
            continue
        where = (*path, version)
        if isinstance(price, int | float) and not isinstance(price, bool):
            prices[str(version)] = Price(per_hour=_number(document, price, where))
            continue  # a bare number is a price per training hour
        _expect_mapping(document, price, where, f"the price of '{version}'")
        if len(price) != 1 or next(iter(price)) not in PRICE_KEYS:
            _fail(document, where, "give exactly one of per_hour or per_training")
        [(written, key)] = [(k, PRICE_KEYS[k]) for k in price]
        amount = _number(document, price[written], (*where, written))
        prices[str(version)] = Price(**{key: amount})
    return Pricing(currency, prices, document.file)
