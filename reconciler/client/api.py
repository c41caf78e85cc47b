"""`BriaClient`: one method per endpoint of the Tailored Generation API reference.

Each method builds the route, sends it through `HttpSession` (auth, retries, errors) and reads the
answer strictly into records; a badly shaped answer becomes `MalformedResponse` naming the call.
A write answered with no record at all (`{}`, the reference's own sample for uploads and caption
updates, or only a message) is confirmed by reading the resource back instead.
Routes and fields follow ../shared/reference/bria-tailored-generation-api.txt; the current
generation's (Bria's published OpenAPI: training_mode, visual_schema, checkpoints, and the `/v2`
generation with its status service) are here too, each method saying which generation it is.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from reconciler.client.current_records import (
    Checkpoint,
    CheckpointList,
    GenerationAccepted,
    GenerationResult,
    GenerationStatus,
    parse_checkpoint,
    parse_checkpoint_list,
    parse_generation_answer,
    parse_generation_status,
    parse_visual_schema,
)
from reconciler.client.errors import MalformedResponse
from reconciler.client.http import ClientStats, HttpSession
from reconciler.client.pacing import DEFAULT_MAX_WAIT, EndpointPacer, RateLimit
from reconciler.client.records import (
    DatasetRecord,
    ImageRecord,
    ModelRecord,
    ProjectRecord,
    RecordError,
    RecordList,
    parse_dataset,
    parse_image,
    parse_list,
    parse_model,
    parse_project,
)
from reconciler.client.retry_policy import CLIENT_BACKOFF, Backoff
from reconciler.client.streamed_json import StreamedJson
from reconciler.secrets import register_secret

_WITH_TRAINING_PARAMETERS = {"include_training_parameters": "true"}
PROJECT_FIELDS = frozenset({"project_name", "project_description", "ip_name", "ip_description"})

T = TypeVar("T")


def api_root(base_url: str) -> str:
    """`https://HOST/v1` -> `https://HOST` (where `/v2/...` lives); a URL not ending in /v1 is
    taken as the root itself."""
    stripped = base_url.rstrip("/")
    return stripped.removesuffix("/v1") if stripped.endswith("/v1") else stripped


def _id(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def _without_none(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


R = TypeVar("R", ProjectRecord, DatasetRecord, ModelRecord, ImageRecord)


def _as_sent(record: R, what: str, **sent: Any) -> R:
    """The answer to a call must describe what was sent or asked for: an answer naming another
    resource would make the next steps act on it (upload into another project's dataset)."""
    for field, value in sent.items():
        answered = record.raw.get(field)  # as answered: absent stays None
        if value is not None and answered not in (None, "") and answered != value:
            raise RecordError(
                f"the answer describes {what} with {field} {answered!r}, not the {value!r} sent"
            )
    return record


def _is_terse(answer: Any) -> bool:
    """No record at all: no body, `{}` (the reference's sample answer to several writes), or an
    object without an `id` such as `{"message": "Caption regeneration process started"}`."""
    return answer is None or answer == "" or (isinstance(answer, dict) and "id" not in answer)


def _unless_terse(parse: Callable[[Any], R]) -> Callable[[Any], R | None]:
    """For answers we only confirm: a terse answer gives None, and the caller re-reads the
    resource with a GET instead of calling the answer malformed."""
    return lambda answer: None if _is_terse(answer) else parse(answer)


class BriaClient:
    """A synchronous, thread-safe client for Bria's Tailored Generation API."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        deadline: float = 120.0,
        max_retries: int = 5,
        backoff_base: float = CLIENT_BACKOFF.base,
        backoff_max: float = CLIENT_BACKOFF.cap,
        rate_limit: RateLimit | None = None,
        max_rate_wait: float | None = None,
        notice: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        debug_log: Callable[[str], None] | None = None,
        token_source: str = "BRIA_API_TOKEN",
    ) -> None:
        """`rate_limit`: Bria's per-endpoint limit when known (else learned from 429s);
        `max_rate_wait`: the longest Retry-After honoured (default `DEFAULT_MAX_WAIT`);
        `notice`: where "waiting N s for Bria's rate limit on ENDPOINT" goes;
        `token_source`: where a 401 says to check the token."""
        register_secret(token)
        self.base_url = base_url
        self.stats = ClientStats()
        self.pacer = EndpointPacer(
            rate_limit,
            max_wait=DEFAULT_MAX_WAIT if max_rate_wait is None else max_rate_wait,
            notice=notice,
        )
        session_options: dict[str, Any] = {
            "timeout": timeout,
            "deadline": deadline,
            "max_retries": max_retries,
            "backoff": Backoff(base=backoff_base, cap=backoff_max),
            "pacer": self.pacer,
            "transport": transport,
            "debug_log": debug_log,
            "stats": self.stats,
            "token_source": token_source,
        }
        self._http = HttpSession(base_url, token, **session_options)
        # The current generation's /v2 routes live beside /v1 (https://HOST/v2/...): a second
        # session on the URL without its /v1, so messages name "/v2/..." routes.
        self._root = HttpSession(api_root(base_url), token, **session_options)

    def close(self) -> None:
        self._http.close()
        self._root.close()

    def __enter__(self) -> BriaClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def _call(
        self,
        method: str,
        template: str,
        parse: Callable[[Any], T],
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        **ids: int,
    ) -> T:
        path = template.format(**{name: _id(value, name) for name, value in ids.items()})
        session = self._root if template.startswith("/v2/") else self._http
        answer = session.request(method, template, path, json_body=json_body, params=params)
        try:
            return parse(answer)
        except RecordError as exc:
            raise MalformedResponse(method, path, None, str(exc)) from exc

    def _delete(self, template: str, **ids: int) -> None:
        """DELETE answers 204 with no body (or a body we have no use for)."""
        path = template.format(**{name: _id(value, name) for name, value in ids.items()})
        self._http.request("DELETE", template, path)

    # ------------------------------------------------------------ projects

    def list_projects(self, *, lenient: bool = False) -> RecordList[ProjectRecord]:
        """`lenient`: projects with an unknown enum value are left out into `.skipped`."""
        return self._call(
            "GET",
            "/tailored-gen/projects",
            lambda a: parse_list(a, parse_project, "project", lenient=lenient),
        )

    def get_project(self, project_id: int) -> ProjectRecord:
        return self._call(
            "GET",
            "/tailored-gen/projects/{project_id}",
            lambda a: _as_sent(parse_project(a), "a project", id=project_id),
            project_id=project_id,
        )

    def create_project(
        self,
        *,
        project_name: str,
        ip_type: str,
        ip_medium: str,
        project_description: str | None = None,
        ip_name: str | None = None,
        ip_description: str | None = None,
    ) -> ProjectRecord:
        body = _without_none(
            project_name=project_name,
            ip_type=ip_type,
            ip_medium=ip_medium,
            project_description=project_description,
            ip_name=ip_name,
            ip_description=ip_description,
        )
        return self._call(
            "POST",
            "/tailored-gen/projects",
            lambda a: _as_sent(parse_project(a), "a project", project_name=project_name),
            json_body=body,
        )

    def update_project(self, project_id: int, **fields: str) -> ProjectRecord:
        unknown = set(fields) - PROJECT_FIELDS
        if unknown:
            raise TypeError(f"update_project got fields it cannot change: {sorted(unknown)}")
        record = self._call(
            "PUT",
            "/tailored-gen/projects/{project_id}",
            _unless_terse(parse_project),
            json_body=_without_none(**fields),
            project_id=project_id,
        )
        return record if record is not None else self.get_project(project_id)

    def delete_project(self, project_id: int) -> None:
        self._delete("/tailored-gen/projects/{project_id}", project_id=project_id)

    # ------------------------------------------------------------ datasets

    def list_datasets(self) -> list[DatasetRecord]:
        return self._call(
            "GET", "/tailored-gen/datasets", lambda a: parse_list(a, parse_dataset, "dataset")
        )

    def list_project_datasets(
        self,
        project_id: int,
        *,
        include_models: bool = False,
        include_models_ids: bool = False,
        lenient: bool = False,
    ) -> RecordList[DatasetRecord]:
        params = {}
        if include_models:
            params["include_models"] = "true"
        if include_models_ids:
            params["include_models_ids"] = "true"
        return self._call(
            "GET",
            "/tailored-gen/projects/{project_id}/datasets",
            lambda a: parse_list(
                a,
                lambda item, what: parse_dataset(
                    item, what, project_id=project_id, lenient=lenient
                ),
                "dataset",
                lenient=lenient,
            ),
            params=params,
            project_id=project_id,
        )

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        return self._call(
            "GET",
            "/tailored-gen/datasets/{dataset_id}",
            lambda a: _as_sent(parse_dataset(a), "a dataset", id=dataset_id),
            dataset_id=dataset_id,
        )

    def create_dataset(
        self, *, project_id: int, name: str, upload_type: str | None = None
    ) -> DatasetRecord:
        """`upload_type` (basic | advanced) is the current generation's; None sends none."""
        body = _without_none(
            project_id=_id(project_id, "project_id"), name=name, upload_type=upload_type
        )
        return self._call(
            "POST",
            "/tailored-gen/datasets",
            lambda a: _as_sent(parse_dataset(a, project_id=project_id), "a dataset", name=name),
            json_body=body,
        )

    def update_dataset(
        self,
        dataset_id: int,
        *,
        name: str | None = None,
        caption_prefix: str | None = None,
        status: str | None = None,
        visual_schema: str | None = None,
    ) -> DatasetRecord:
        """`caption_prefix` is the reference generation's, `visual_schema` (a JSON string, only
        on a draft) the current one's."""
        record = self._call(
            "PUT",
            "/tailored-gen/datasets/{dataset_id}",
            _unless_terse(parse_dataset),
            json_body=_without_none(
                name=name, caption_prefix=caption_prefix, status=status, visual_schema=visual_schema
            ),
            dataset_id=dataset_id,
        )
        return record if record is not None else self.get_dataset(dataset_id)

    def delete_dataset(self, dataset_id: int) -> None:
        self._delete("/tailored-gen/datasets/{dataset_id}", dataset_id=dataset_id)

    def clone_dataset(
        self, dataset_id: int, *, name: str | None = None, description: str | None = None
    ) -> DatasetRecord:
        return self._call(
            "POST",
            "/tailored-gen/datasets/{dataset_id}/clone",
            # no name check: an API that ignores the requested name answers "Copy of ...", and
            # apply renames the clone
            parse_dataset,
            json_body=_without_none(name=name, description=description),
            dataset_id=dataset_id,
        )

    # ------------------------------------------------------------ images

    def upload_image(
        self,
        dataset_id: int,
        *,
        file: bytes | None = None,
        image_url: str | None = None,
        image_name: str | None = None,
    ) -> ImageRecord:
        """Upload bytes (sent base64-encoded in `file`) or let Bria fetch `image_url`."""
        if (file is None) == (image_url is None):
            raise ValueError("upload_image needs exactly one of file or image_url")
        body: StreamedJson | dict[str, Any]
        if file is not None:  # encoded while sent: one copy of the file per worker
            body = StreamedJson("file", file, _without_none(image_name=image_name))
        else:
            body = _without_none(image_url=image_url, image_name=image_name)
        record = self._call(
            "POST",
            "/tailored-gen/datasets/{dataset_id}/images",
            _unless_terse(
                lambda a: _as_sent(
                    parse_image(a, "image", dataset_id=dataset_id),
                    "an image",
                    image_name=image_name,
                )
            ),
            json_body=body,
            dataset_id=dataset_id,
        )
        return record if record is not None else self._uploaded(dataset_id, image_name)

    def _uploaded(self, dataset_id: int, image_name: str | None) -> ImageRecord:
        """The reference's sample answer to Upload Image is `{}`: the image just uploaded is the
        newest (highest id) of that name in the dataset."""
        path = f"/tailored-gen/datasets/{dataset_id}/images"
        if image_name is None:
            raise MalformedResponse(
                "POST", path, None, "the answer is empty and the upload had no image_name"
            )
        named = [i for i in self.list_images(dataset_id) if i.image_name == image_name]
        if not named:
            raise MalformedResponse(
                "POST",
                path,
                None,
                f"the answer is empty and the dataset has no image named {image_name!r}",
            )
        return max(named, key=lambda image: image.id)

    def list_images(self, dataset_id: int) -> list[ImageRecord]:
        return self._call(
            "GET",
            "/tailored-gen/datasets/{dataset_id}/images",
            lambda a: parse_list(
                a, lambda item, what: parse_image(item, what, dataset_id=dataset_id), "image"
            ),
            dataset_id=dataset_id,
        )

    def get_image(self, dataset_id: int, image_id: int) -> ImageRecord:
        """The reference's sample answer is `{}`: then the image is read from the dataset's list."""
        record = self._call(
            "GET",
            "/tailored-gen/datasets/{dataset_id}/images/{image_id}",
            _unless_terse(
                lambda a: _as_sent(
                    parse_image(a, "image", dataset_id=dataset_id), "an image", id=image_id
                )
            ),
            dataset_id=dataset_id,
            image_id=image_id,
        )
        if record is not None:
            return record
        for image in self.list_images(dataset_id):
            if image.id == image_id:
                return image
        raise MalformedResponse(
            "GET",
            f"/tailored-gen/datasets/{dataset_id}/images/{image_id}",
            None,
            f"the answer is empty and image {image_id} is not in the dataset's list",
        )

    def update_image_caption(
        self,
        dataset_id: int,
        image_id: int,
        *,
        caption: str | None = None,
        regenerate_caption: bool | None = None,
    ) -> ImageRecord:
        """The reference's sample answer is `{}`: an empty answer is re-read with get_image."""
        record = self._call(
            "PUT",
            "/tailored-gen/datasets/{dataset_id}/images/{image_id}",
            _unless_terse(lambda a: parse_image(a, "image", dataset_id=dataset_id)),
            json_body=_without_none(caption=caption, regenerate_caption=regenerate_caption),
            dataset_id=dataset_id,
            image_id=image_id,
        )
        return record if record is not None else self.get_image(dataset_id, image_id)

    def regenerate_captions(self, dataset_id: int) -> DatasetRecord:
        """Starts regenerating every caption; poll get_dataset until captions_update_status is
        "completed"."""
        record = self._call(
            "PUT",
            "/tailored-gen/datasets/{dataset_id}/images",
            _unless_terse(parse_dataset),
            dataset_id=dataset_id,
        )
        return record if record is not None else self.get_dataset(dataset_id)

    def delete_image(self, dataset_id: int, image_id: int) -> None:
        self._delete(
            "/tailored-gen/datasets/{dataset_id}/images/{image_id}",
            dataset_id=dataset_id,
            image_id=image_id,
        )

    # ------------------------------------------------------------ models

    def list_models(self) -> list[ModelRecord]:
        """With `include_training_parameters=true` (published OpenAPI; the reference has no
        query and ignores it), so current-generation models carry their parameters."""
        return self._call(
            "GET",
            "/tailored-gen/models",
            lambda a: parse_list(a, parse_model, "model"),
            params=_WITH_TRAINING_PARAMETERS,
        )

    def list_project_models(
        self, project_id: int, *, lenient: bool = False
    ) -> RecordList[ModelRecord]:
        return self._call(
            "GET",
            "/tailored-gen/projects/{project_id}/models",
            lambda a: parse_list(
                a,
                lambda item, what: parse_model(item, what, project_id=project_id),
                "model",
                lenient=lenient,
            ),
            params=_WITH_TRAINING_PARAMETERS,
            project_id=project_id,
        )

    def get_model(self, model_id: int) -> ModelRecord:
        return self._call(
            "GET",
            "/tailored-gen/models/{model_id}",
            lambda a: _as_sent(parse_model(a), "a model", id=model_id),
            model_id=model_id,
        )

    def create_model(
        self,
        *,
        name: str,
        dataset_id: int,
        training_version: str | None = None,
        training_mode: str | None = None,
        description: str | None = None,
    ) -> ModelRecord:
        """Exactly one of `training_version` (light | max, the reference generation) or
        `training_mode` (fully_automated | expert, the current one)."""
        if (training_version is None) == (training_mode is None):
            raise ValueError("create_model needs exactly one of training_version or training_mode")
        body = _without_none(
            name=name,
            dataset_id=_id(dataset_id, "dataset_id"),
            training_version=training_version,
            training_mode=training_mode,
            description=description,
        )
        return self._call(
            "POST",
            "/tailored-gen/models",
            lambda a: _as_sent(parse_model(a, dataset_id=dataset_id), "a model", name=name),
            json_body=body,
        )

    def update_model(
        self, model_id: int, *, name: str | None = None, description: str | None = None
    ) -> ModelRecord:
        record = self._call(
            "PUT",
            "/tailored-gen/models/{model_id}",
            _unless_terse(parse_model),
            json_body=_without_none(name=name, description=description),
            model_id=model_id,
        )
        return record if record is not None else self.get_model(model_id)

    def delete_model(self, model_id: int) -> None:
        self._delete("/tailored-gen/models/{model_id}", model_id=model_id)

    def start_training(
        self, model_id: int, parameters: Mapping[str, Any] | None = None
    ) -> ModelRecord:
        """The answer may be only {id, status}; see ModelRecord. An empty answer is re-read.
        `parameters`: an expert model's training parameters (current generation: rank,
        learning_rate, lr_scheduler, total_training_steps, checkpoint_interval,
        lr_warmup_steps), sent as the body; None sends no body, as the reference does."""
        return self._training("start", model_id, None if parameters is None else dict(parameters))

    def stop_training(self, model_id: int) -> ModelRecord:
        """The reference shows no answer: an empty one is re-read with get_model."""
        return self._training("stop", model_id, None)

    def _training(self, action: str, model_id: int, body: dict[str, Any] | None) -> ModelRecord:
        record = self._call(
            "POST",
            "/tailored-gen/models/{model_id}/" + action + "_training",
            _unless_terse(lambda a: _as_sent(parse_model(a, partial=True), "a model", id=model_id)),
            json_body=body,
            model_id=model_id,
        )
        return record if record is not None else self.get_model(model_id)

    # ------------------------------------------------------------ current generation

    def list_checkpoints(self, model_id: int) -> CheckpointList:
        """An expert model's saved checkpoints and the one used for inference."""
        return self._call(
            "GET",
            "/tailored-gen/models/{model_id}/checkpoints",
            parse_checkpoint_list,
            model_id=model_id,
        )

    def get_checkpoint(self, model_id: int, checkpoint_step: int) -> Checkpoint:
        return self._call(
            "GET",
            "/tailored-gen/models/{model_id}/checkpoints/{checkpoint_step}",
            parse_checkpoint,
            model_id=model_id,
            checkpoint_step=checkpoint_step,
        )

    def delete_checkpoint(self, model_id: int, checkpoint_step: int) -> None:
        """Bria refuses (400) to delete the checkpoint selected for inference."""
        self._delete(
            "/tailored-gen/models/{model_id}/checkpoints/{checkpoint_step}",
            model_id=model_id,
            checkpoint_step=checkpoint_step,
        )

    def generate_visual_schema(
        self, images: Sequence[bytes | str], *, content_moderation: bool | None = None
    ) -> str:
        """A visual schema (a JSON string) from 5-10 sample images: bytes are sent
        base64-encoded, strings as given (public URLs). Save it with update_dataset."""
        body = _without_none(
            images=[
                base64.b64encode(item).decode("ascii") if isinstance(item, bytes) else item
                for item in images
            ],
            content_moderation=content_moderation,
        )
        return self._call(
            "POST", "/tailored-gen/generate_visual_schema", parse_visual_schema, json_body=body
        )

    # ------------------------------------------------------------ generation

    def _generate(self, route: str, model_id: int, params: Mapping[str, Any]) -> dict[str, Any]:
        def as_object(answer: Any) -> dict[str, Any]:
            if not isinstance(answer, dict):
                raise RecordError(f"expected a JSON object, got {type(answer).__name__}")
            return answer

        return self._call(
            "POST", route + "/{model_id}", as_object, json_body=dict(params), model_id=model_id
        )

    def text_to_image(self, model_id: int, **params: Any) -> dict[str, Any]:
        return self._generate("/text-to-image/tailored", model_id, params)

    def text_to_vector(self, model_id: int, **params: Any) -> dict[str, Any]:
        return self._generate("/text-to-vector/tailored", model_id, params)

    def reimagine(self, model_id: int, **params: Any) -> dict[str, Any]:
        return self._generate("/reimagine/tailored", model_id, params)

    # ------------------------------------------------------------ generation (current, /v2)

    def generate_image_v2(
        self,
        tailored_model_id: int,
        *,
        prompt: str | None = None,
        structured_prompt: str | None = None,
        seed: int | None = None,
        sync: bool | None = None,
        **params: Any,
    ) -> GenerationResult | GenerationAccepted:
        """POST /v2/image/generate/tailored (current-generation models): 200 gives the result,
        202 a request to poll with get_generation_status (see `wait_for_generation`). Other
        published parameters (aspect_ratio, negative_prompt, guidance_scale, steps_num,
        tailored_model_influence, moderation flags) pass through `params`."""
        body = _without_none(
            tailored_model_id=str(_id(tailored_model_id, "tailored_model_id")),
            prompt=prompt,
            structured_prompt=structured_prompt,
            seed=seed,
            sync=sync,
            **params,
        )
        return self._call(
            "POST", "/v2/image/generate/tailored", parse_generation_answer, json_body=body
        )

    def get_generation_status(self, request_id: str) -> GenerationStatus:
        """GET /v2/status/{request_id}: Bria's status service for a 202 generation."""
        if not request_id or not all(c.isalnum() or c in "-_" for c in request_id):
            raise ValueError(f"request_id {request_id!r} is not a request id")
        path = f"/v2/status/{request_id}"
        answer = self._root.request("GET", "/v2/status/{request_id}", path)
        try:
            return parse_generation_status(answer, request_id)
        except RecordError as exc:
            raise MalformedResponse("GET", path, None, str(exc)) from exc
