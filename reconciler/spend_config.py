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
from typing import Any, cast

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


def _fail(document: YamlDocument, path: tuple[Any, ...], message: str) -> None:
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


def _rules(document: YamlDocument, policies: Any) -> tuple[PolicyRule, ...]:
    if policies is None:
        return ()
    _expect_mapping(document, policies, ("policies",), "policies")
    rules = []
    for name, setting in policies.items():
        path = ("policies", name)
        if name not in POLICIES:
            _fail(document, path, f"unknown policy '{name}' (known: {', '.join(POLICIES)})")
        spec = {"level": setting} if isinstance(setting, str) else setting
        _expect_mapping(document, spec, path, f"policy '{name}'")
        level = spec.get("level")
        if level not in LEVELS:
            _fail(document, (*path, "level") if isinstance(setting, dict) else path,
                  f"level {level!r} is not one of {', '.join(LEVELS)}")  # fmt: skip
        limit = None
        if POLICIES[name]:
            if "limit" not in spec:
                _fail(
                    document, path, f"policy '{name}' needs a limit, e.g. {{level: soft, limit: 2}}"
                )
            limit = _number(document, spec["limit"], (*path, "limit"))
        rules.append(PolicyRule(name, cast(Level, level), limit))
    return tuple(rules)


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
        _expect_mapping(document, price, where, f"the price of '{version}'")
        keys = set(price) & {"per_hour", "per_training"}
        if len(keys) != 1 or set(price) - keys:
            _fail(document, where, "give exactly one of per_hour or per_training")
        [key] = keys
        amount = _number(document, price[key], (*where, key))
        prices[str(version)] = Price(**{key: amount})
    return Pricing(currency, prices, document.file)
