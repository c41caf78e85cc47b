"""The API reference's rules that can be known without asking Bria.

Bria would refuse these at apply time, after a plan had been approved and maybe half carried
out; checking them here turns a late 400 into an early, located error. Each rule quotes the
reference's own limit.
"""

from __future__ import annotations

from reconciler.manifest.diagnostics import (
    PLAIN_TEXT_FIX,
    DiagnosticSink,
    control_character,
    quote,
)
from reconciler.manifest.documents import Resource
from reconciler.state import MAX_IMAGES

# "This is currently valid only when ip_medium = illustration."
ILLUSTRATION_ONLY_IP_TYPES = ("multi_object_set", "object_variants", "icons", "character_variants")
IP_NAME_REQUIRED = ("defined_character",)
IP_DESCRIPTION_REQUIRED = ("defined_character", "object_variants")
IP_NAME_MAX_WORDS = 3
IP_DESCRIPTION_MAX_WORDS = 6

MIN_IMAGES = 1
# "Recommended: 5-50 images ... Max training version, 15-100 ... Light training version"
RECOMMENDED_IMAGES = {"max": (5, 50), "light": (15, 100)}


def check_project_rules(project: Resource, sink: DiagnosticSink) -> None:
    """ip_type against ip_medium, the fields an ip_type requires, and their word limits."""
    ip_type = project.text("ip_type")
    ip_medium = project.text("ip_medium")
    if ip_type in ILLUSTRATION_ONLY_IP_TYPES and ip_medium == "photography":
        project.error(
            sink,
            ("spec", "ip_type"),
            f"{project.subject}: ip_type {quote(ip_type)} is only available with ip_medium "
            f"'illustration', not 'photography'; change ip_type or ip_medium",
        )
    for required, types in (
        ("ip_name", IP_NAME_REQUIRED),
        ("ip_description", IP_DESCRIPTION_REQUIRED),
    ):
        if ip_type in types and required not in project.spec:
            project.error(
                sink,
                ("spec",),
                f"{project.subject} needs spec.{required}: Bria requires it for ip_type "
                f"{quote(ip_type)}",
            )
    ip_name = project.text("ip_name")
    if ip_name is not None:
        words = len(ip_name.split())
        if not 1 <= words <= IP_NAME_MAX_WORDS:
            project.error(
                sink,
                ("spec", "ip_name"),
                f"{project.subject}: ip_name {quote(ip_name)} has {words} words; Bria accepts "
                f"1-{IP_NAME_MAX_WORDS} words (e.g. 'Lora', 'Captain Smith')",
            )
    ip_description = project.text("ip_description")
    if ip_description is not None:
        words = len(ip_description.split())
        if words == 0:
            project.error(
                sink,
                ("spec", "ip_description"),
                f"{project.subject}: ip_description is empty; describe the distinguishing "
                f"features in at most {IP_DESCRIPTION_MAX_WORDS} words",
            )
        elif words > IP_DESCRIPTION_MAX_WORDS:
            project.error(
                sink,
                ("spec", "ip_description"),
                f"{project.subject}: ip_description {quote(ip_description)} has {words} words; "
                f"Bria accepts at most {IP_DESCRIPTION_MAX_WORDS} (e.g. 'a female character "
                "with purple hair')",
            )


def check_caption_prefix(dataset: Resource, sink: DiagnosticSink) -> None:
    """No control character in the text every caption continues (it is trained on)."""
    prefix = dataset.text("caption_prefix")
    if prefix is not None and (bad := control_character(prefix)) is not None:
        dataset.error(
            sink,
            ("spec", "caption_prefix"),
            f"{dataset.subject}: caption_prefix contains the control character {bad}; "
            f"{PLAIN_TEXT_FIX}",
        )


def check_model_medium(model: Resource, project: Resource, sink: DiagnosticSink) -> None:
    """`max` is "currently not available when ip_medium=photography"."""
    if model.text("training_version") == "max" and project.text("ip_medium") == "photography":
        model.error(
            sink,
            ("spec", "training_version"),
            f"{model.subject} uses training_version 'max', which Bria does not offer for "
            f"ip_medium 'photography' ({project.subject}); use 'light'",
        )


def check_image_count(
    dataset: Resource, count: int, users: list[Resource], sink: DiagnosticSink
) -> None:
    """The hard 1..200 limit, and the recommended range of every training version using it."""
    where = ("spec", "images")
    if count < MIN_IMAGES:
        dataset.error(
            sink,
            where,
            f"{dataset.subject} has no images; a dataset needs {MIN_IMAGES}-{MAX_IMAGES} "
            "jpeg, png or webp files in its folder",
        )
        return
    if count > MAX_IMAGES:
        dataset.error(
            sink,
            where,
            f"{dataset.subject} has {count} images; Bria accepts at most {MAX_IMAGES} per "
            "dataset; split it or remove some",
        )
        return
    for version, (low, high) in RECOMMENDED_IMAGES.items():
        names = sorted(m.name for m in users if m.text("training_version") == version)
        if names and not low <= count <= high:
            used_by = ", ".join(quote(n) for n in names)
            dataset.warning(
                sink,
                where,
                f"{dataset.subject} has {count} images; {low}-{high} are recommended for "
                f"{version} models (used by {used_by})",
            )
