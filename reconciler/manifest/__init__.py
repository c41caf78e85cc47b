"""The manifest layer: YAML files and image folders -> the desired state, with diagnostics.

`load_manifests` is the one entry point; `validate`, `plan` and `apply` all go through it.
"""

from __future__ import annotations

from reconciler.manifest.diagnostics import Diagnostic, ImageReadStats, LoadResult
from reconciler.manifest.load import load_manifests

__all__ = ["Diagnostic", "ImageReadStats", "LoadResult", "load_manifests"]
