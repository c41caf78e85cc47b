"""One declared project's live datasets and models, grouped the way the planner asks about them.

Remote names are versioned (`lora-v1`, `lora-v1~2`, ...; reconciler.naming): this index groups the
versions of each declared base name (the highest version is the current one), keeps what no
manifest declares apart, and hands out the next free version name. It also keeps the bookkeeping
shared by every change of the project: which live models some change already deletes, and which
addresses are taken.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from reconciler.naming import parse_versioned_name, versioned_name
from reconciler.state import LiveDataset, LiveModel, LiveProject
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


@dataclass
class ProjectIndex:
    name: str
    live: LiveProject | None
    dataset_versions: dict[str, list[DatasetVersion]] = field(default_factory=dict)
    undeclared_datasets: list[LiveDataset] = field(default_factory=list)
    model_versions: dict[str, list[ModelVersion]] = field(default_factory=dict)
    undeclared_models: list[ModelVersion] = field(default_factory=list)
    dataset_by_id: dict[int, LiveDataset] = field(default_factory=dict)
    #: live model id -> address of the change that deletes it (its steps use `model_key`)
    deleted_models: dict[int, str] = field(default_factory=dict)
    #: live dataset ids some change of a declared dataset owns (current version, rename)
    claimed_datasets: set[int] = field(default_factory=set)
    claimed_models: set[int] = field(default_factory=set)
    #: live model id -> (key of the step starting its replacement, the replacement's name)
    replaced_models: dict[int, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        name: str,
        live: LiveProject | None,
        declared_datasets: Iterable[str],
        declared_models: Iterable[str],
    ) -> ProjectIndex:
        index = cls(name=name, live=live)
        dataset_bases = set(declared_datasets)
        model_bases = set(declared_models)
        datasets = sorted(live.datasets or (), key=lambda d: (d.name, d.id)) if live else []
        for dataset in datasets:
            index.dataset_by_id[dataset.id] = dataset
            parsed = parse_versioned_name(dataset.name)
            if parsed is not None and parsed.base in dataset_bases:
                index.dataset_versions.setdefault(parsed.base, []).append(
                    DatasetVersion(parsed.version, dataset)
                )
            else:
                index.undeclared_datasets.append(dataset)
            for model in sorted(dataset.models, key=lambda m: (m.name, m.id)):
                parsed_model = parse_versioned_name(model.name)
                entry = ModelVersion(parsed_model.version if parsed_model else 1, model, dataset)
                if parsed_model is not None and parsed_model.base in model_bases:
                    index.model_versions.setdefault(parsed_model.base, []).append(entry)
                else:
                    index.undeclared_models.append(entry)
        for versions in index.dataset_versions.values():
            versions.sort(key=lambda v: (v.version, v.dataset.id))
        for model_list in index.model_versions.values():
            model_list.sort(key=lambda v: (v.version, v.model.id))
        index.undeclared_models.sort(key=lambda v: (v.model.name, v.model.id))
        return index

    # ------------------------------------------------------------ refs and names

    @property
    def project_id(self) -> int | None:
        return self.live.id if self.live else None

    def project_ref(self) -> Ref:
        return Ref("project", self.name, self.name, self.project_id)

    def dataset_ref(self, dataset: LiveDataset) -> Ref:
        return Ref("dataset", self.name, dataset.name, dataset.id)

    def model_ref(self, model: LiveModel) -> Ref:
        return Ref("model", self.name, model.name, model.id)

    def current_dataset(self, base: str) -> DatasetVersion | None:
        versions = self.dataset_versions.get(base)
        return versions[-1] if versions else None

    def current_model(self, base: str) -> ModelVersion | None:
        versions = self.model_versions.get(base)
        return versions[-1] if versions else None

    def twin_datasets(self, base: str) -> list[LiveDataset]:
        """Every live dataset named like the current version of `base` (normally just it)."""
        versions = self.dataset_versions.get(base, [])
        if not versions:
            return []
        name = versions[-1].dataset.name
        return [v.dataset for v in versions if v.dataset.name == name]

    def twin_models(self, base: str) -> list[ModelVersion]:
        """Every live model named like the current version of `base` (normally just it)."""
        versions = self.model_versions.get(base, [])
        if not versions:
            return []
        name = versions[-1].model.name
        return [v for v in versions if v.model.name == name and v.model.status != "Deleted"]

    def next_dataset_name(self, base: str) -> str:
        versions = self.dataset_versions.get(base, [])
        return versioned_name(base, max((v.version for v in versions), default=0) + 1)

    def next_model_name(self, base: str) -> str:
        versions = self.model_versions.get(base, [])
        return versioned_name(base, max((v.version for v in versions), default=0) + 1)

    def models_on(self, dataset: LiveDataset) -> list[LiveModel]:
        """The models listed on a dataset that still exist (status Deleted is gone)."""
        return sorted(
            (m for m in dataset.models if m.status != "Deleted"), key=lambda m: (m.name, m.id)
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
