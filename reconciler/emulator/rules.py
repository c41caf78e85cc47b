"""The API's input rules as the reference states them, as pure checks over request bodies.

Every check raises `ApiError(status, message)` with Bria-like wording; `app.py` turns it into
`{"message": ...}` with that status. Rules that depend on stored state (409, 412, 404) live in
`behaviour.py`; the ones here look only at the body.
"""

from __future__ import annotations

from typing import Any

IP_MEDIUMS = ("photography", "illustration")
IP_TYPES = (
    "multi_object_set",
    "object_variants",
    "icons",
    "defined_character",
    "character_variants",
    "stylized_scene",
    "other",
)
ILLUSTRATION_ONLY_TYPES = ("multi_object_set", "object_variants", "icons", "character_variants")
IP_NAME_REQUIRED = ("defined_character",)
IP_DESCRIPTION_REQUIRED = ("defined_character", "object_variants")
TRAINING_VERSIONS = ("light", "max")
DATASET_STATUSES = ("draft", "completed")
MAX_IP_NAME_WORDS = 3
MAX_IP_DESCRIPTION_WORDS = 6


class ApiError(Exception):
    """An error answer: HTTP status and Bria's message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid request body: a JSON object is required")
    return body


def optional_string(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"Invalid {field}: must be a string")
    return value


def required_string(body: dict[str, Any], field: str) -> str:
    value = optional_string(body, field)
    if value is None or not value.strip():
        raise ApiError(400, f"Missing required field: {field}")
    return value


def required_int(body: dict[str, Any], field: str) -> int:
    value = body.get(field)
    if value is None:
        raise ApiError(400, f"Missing required field: {field}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"Invalid {field}: must be an integer")
    if not -(2**63) <= value < 2**63:
        raise ApiError(400, f"Invalid {field}: out of range")
    return value


def required_enum(body: dict[str, Any], field: str, allowed: tuple[str, ...]) -> str:
    value = required_string(body, field)
    return check_enum(field, value, allowed)


def check_enum(field: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(allowed)
        raise ApiError(400, f"Invalid {field} '{value}'. Must be one of: {choices}")
    return value


def _words(text: str) -> int:
    return len(text.split())


def check_ip_name(ip_name: str) -> None:
    if not 1 <= _words(ip_name) <= MAX_IP_NAME_WORDS:
        raise ApiError(400, f"Invalid ip_name '{ip_name}': must be 1-3 words")


def check_ip_description(ip_description: str) -> None:
    if not 1 <= _words(ip_description) <= MAX_IP_DESCRIPTION_WORDS:
        raise ApiError(
            400,
            f"Invalid ip_description '{ip_description}': must be a short phrase of up to 6 words",
        )


def check_project_create(body: Any) -> dict[str, Any]:
    """Create Project: required fields, enums, the medium/type pairing, ip_name/ip_description."""
    body = require_object(body)
    project_name = required_string(body, "project_name")
    ip_medium = required_enum(body, "ip_medium", IP_MEDIUMS)
    ip_type = required_enum(body, "ip_type", IP_TYPES)
    if ip_type in ILLUSTRATION_ONLY_TYPES and ip_medium != "illustration":
        raise ApiError(
            400,
            f"ip_type '{ip_type}' is currently valid only when ip_medium = illustration",
        )
    description = optional_string(body, "project_description") or ""
    ip_name = optional_string(body, "ip_name")
    ip_description = optional_string(body, "ip_description")
    if ip_type in IP_NAME_REQUIRED and not (ip_name and ip_name.strip()):
        raise ApiError(400, f"ip_name is required for ip_type '{ip_type}'")
    if ip_type in IP_DESCRIPTION_REQUIRED and not (ip_description and ip_description.strip()):
        raise ApiError(400, f"ip_description is required for ip_type '{ip_type}'")
    if ip_name is not None:
        check_ip_name(ip_name)
    if ip_description is not None:
        check_ip_description(ip_description)
    return {
        "project_name": project_name,
        "project_description": description,
        "ip_name": ip_name,
        "ip_description": ip_description,
        "ip_medium": ip_medium,
        "ip_type": ip_type,
    }


def check_project_update(body: Any, ip_type: str | None) -> dict[str, Any]:
    """Update Project: only the four text fields; the same word limits; required stay set
    (`ip_type` None: the body's own rules only, before the project is looked up)."""
    body = require_object(body)
    changes: dict[str, Any] = {}
    for field in ("project_name", "project_description", "ip_name", "ip_description"):
        if field in body:
            changes[field] = optional_string(body, field)
    if "project_name" in changes and not (changes["project_name"] or "").strip():
        raise ApiError(400, "Invalid project_name: must not be empty")
    if changes.get("project_description") is None and "project_description" in changes:
        changes["project_description"] = ""
    for field, required_for, check in (
        ("ip_name", IP_NAME_REQUIRED, check_ip_name),
        ("ip_description", IP_DESCRIPTION_REQUIRED, check_ip_description),
    ):
        if field not in changes:
            continue
        value = changes[field]
        if value is None or not value.strip():
            if ip_type in required_for:
                raise ApiError(400, f"{field} is required for ip_type '{ip_type}'")
            changes[field] = None
        else:
            check(value)
    return changes


def check_dataset_create(body: Any) -> tuple[int, str]:
    body = require_object(body)
    project_id = required_int(body, "project_id")
    name = required_string(body, "name")
    return project_id, name


def check_dataset_update(body: Any) -> dict[str, Any]:
    body = require_object(body)
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = required_string(body, "name")
    if "caption_prefix" in body:
        prefix = optional_string(body, "caption_prefix")
        if prefix is None or not prefix.strip():
            raise ApiError(400, "Invalid caption_prefix: must not be empty")
        changes["caption_prefix"] = prefix
    if "status" in body:
        changes["status"] = check_enum("status", body["status"], DATASET_STATUSES)
    return changes


def check_caption_update(body: Any) -> str | None:
    """Update Image Caption: returns the manual caption, or None to regenerate."""
    body = require_object(body)
    if "caption" in body and "regenerate_caption" in body:  # whatever their values
        raise ApiError(
            400,
            "You cannot provide both parameters simultaneously: send either caption or "
            "regenerate_caption",
        )
    regenerate = body.get("regenerate_caption", False)
    if not isinstance(regenerate, bool):
        raise ApiError(400, "Invalid regenerate_caption: must be a boolean")
    has_caption = body.get("caption") is not None
    if regenerate:
        return None
    if not has_caption:
        raise ApiError(400, "Either caption or regenerate_caption must be provided")
    caption = optional_string(body, "caption")
    if caption is None or not caption.strip():
        raise ApiError(400, "Invalid caption: must not be empty")
    return caption


def check_model_create(body: Any) -> dict[str, Any]:
    body = require_object(body)
    name = required_string(body, "name")
    dataset_id = required_int(body, "dataset_id")
    training_version = required_enum(body, "training_version", TRAINING_VERSIONS)
    description = optional_string(body, "description") or ""
    return {
        "name": name,
        "dataset_id": dataset_id,
        "training_version": training_version,
        "description": description,
    }


def check_model_update(body: Any) -> dict[str, Any]:
    body = require_object(body)
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = required_string(body, "name")
    if "description" in body:
        changes["description"] = optional_string(body, "description") or ""
    return changes


def parse_id(raw: str, kind: str) -> int:
    """Path ids: anything but a plain positive integer is an unknown id (404)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ApiError(404, f"{kind} not found")
    return int(raw)
