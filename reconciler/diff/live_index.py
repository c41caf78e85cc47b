"""One declared project's live datasets and models, grouped the way the planner asks about them.

Remote names are versioned (`lora-v1`, `lora-v1~2`, ...; reconciler.naming): this index groups the
versions of each declared base name (the highest version is the current one), keeps what no
manifest declares apart, and hands out the next free version name. It is immutable: the phases of
a project's diff pass what they decided to the next one as arguments (reconciler.diff.walk).
`AddressBook` hands out the plan's unique change addresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.naming import parse_versioned_name, versioned_name
from reconciler.state import LiveDataset, LiveModel, LiveProject, ModelStatus
from reconciler.steps import Ref


@dataclass(frozen=True)
class DatasetVersion:
    version: int
    dataset: LiveDataset


@dataclass(frozen=True)
class ModelVersion:
    version: int
    model: LiveModel
    dataset: LiveDataset  # the dataset it is listed on


@dataclass(frozen=True)
class ProjectIndex:
    name: str
    live: LiveProject | None
    dataset_versions: Mapping[str, tuple[DatasetVersion, ...]]
    undeclared_datasets: tuple[LiveDataset, ...]
    model_versions: Mapping[str, tuple[ModelVersion, ...]]
    undeclared_models: tuple[ModelVersion, ...]
    dataset_by_id: Mapping[int, LiveDataset]

    @classmethod
    def build(
        cls,
        name: str,
        live: LiveProject | None,
        declared_datasets: Iterable[str],
        declared_models: Iterable[str],
    ) -> ProjectIndex:
        dataset_bases = set(declared_datasets)
        model_bases = set(declared_models)
        datasets = sorted(live.datasets or (), key=lambda d: (d.name, d.id)) if live else []
        dataset_versions: dict[str, list[DatasetVersion]] = {}
        undeclared_datasets: list[LiveDataset] = []
        model_versions: dict[str, list[ModelVersion]] = {}
        undeclared_models: list[ModelVersion] = []
        for dataset in datasets:
            parsed = parse_versioned_name(dataset.name)
            if parsed is not None and parsed.base in dataset_bases:
                dataset_versions.setdefault(parsed.base, []).append(
                    DatasetVersion(parsed.version, dataset)
                )
            else:
                undeclared_datasets.append(dataset)
            for model in sorted(dataset.models, key=lambda m: (m.name, m.id)):
                parsed_model = parse_versioned_name(model.name)
                entry = ModelVersion(parsed_model.version if parsed_model else 1, model, dataset)
                if parsed_model is not None and parsed_model.base in model_bases:
                    model_versions.setdefault(parsed_model.base, []).append(entry)
                else:
                    undeclared_models.append(entry)
        return cls(
            name=name,
            live=live,
            dataset_versions={
                base: tuple(sorted(versions, key=lambda v: (v.version, v.dataset.id)))
                for base, versions in dataset_versions.items()
            },
            undeclared_datasets=tuple(undeclared_datasets),
            model_versions={
                base: tuple(sorted(versions, key=lambda v: (v.version, v.model.id)))
                for base, versions in model_versions.items()
            },
            undeclared_models=tuple(
                sorted(undeclared_models, key=lambda v: (v.model.name, v.model.id))
            ),
            dataset_by_id={dataset.id: dataset for dataset in datasets},
        )

    # ------------------------------------------------------------ refs and names

    @property
    def project_id(self) -> int | None:
        return self.live.id if self.live else None

    def project_ref(self) -> Ref:
        return Ref("project", self.name, self.name, self.project_id)

    def dataset_ref(self, dataset: LiveDataset, name: str | None = None) -> Ref:
        """A live dataset (under `name` once this plan renames it back)."""
        return Ref("dataset", self.name, name or dataset.name, dataset.id, self.project_id)

    def new_dataset_ref(self, name: str) -> Ref:
        return Ref("dataset", self.name, name, None, self.project_id)

    def model_ref(self, model: LiveModel, name: str | None = None) -> Ref:
        """A live model (under `name` once this plan renames it back)."""
        return Ref("model", self.name, name or model.name, model.id, self.project_id)

    def new_model_ref(self, name: str) -> Ref:
        return Ref("model", self.name, name, None, self.project_id)

    def current_dataset(self, base: str) -> DatasetVersion | None:
        versions = self.dataset_versions.get(base)
        return versions[-1] if versions else None

    def current_model(self, base: str) -> ModelVersion | None:
        versions = self.model_versions.get(base)
        return versions[-1] if versions else None

    def twin_datasets(self, base: str) -> list[LiveDataset]:
        """Every live dataset named like the current version of `base` (normally just it)."""
        versions = self.dataset_versions.get(base, ())
        if not versions:
            return []
        name = versions[-1].dataset.name
        return [v.dataset for v in versions if v.dataset.name == name]

    def twin_models(self, base: str) -> list[ModelVersion]:
        """Every live model named like the current version of `base` (normally just it)."""
        versions = self.model_versions.get(base, ())
        if not versions:
            return []
        name = versions[-1].model.name
        return [
            v for v in versions if v.model.name == name and v.model.status != ModelStatus.DELETED
        ]

    def next_dataset_name(self, base: str) -> str:
        versions = self.dataset_versions.get(base, ())
        return versioned_name(base, max((v.version for v in versions), default=0) + 1)

    def next_model_name(self, base: str) -> str:
        versions = self.model_versions.get(base, ())
        return versioned_name(base, max((v.version for v in versions), default=0) + 1)

    def models_on(self, dataset: LiveDataset) -> list[LiveModel]:
        """The models listed on a dataset that still exist (status Deleted is gone)."""
        return sorted(
            (m for m in dataset.models if m.status != ModelStatus.DELETED),
            key=lambda m: (m.name, m.id),
        )

    def all_models(self) -> list[ModelVersion]:
        entries = [v for versions in self.model_versions.values() for v in versions]
        entries += self.undeclared_models
        return sorted(entries, key=lambda v: (v.model.name, v.model.id))


class AddressBook:
    """Hands out unique change addresses (two live resources may share a name)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def take(self, address: str, resource_id: int | None = None) -> str:
        if address in self._taken and resource_id is not None:
            address = f"{address}#{resource_id}"
        if address in self._taken:
            raise ValueError(f"duplicate change address {address}")
        self._taken.add(address)
        return address
