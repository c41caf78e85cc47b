"""The Bria API client: `BriaClient`, its errors and the records it returns.

Everything that talks to Bria goes through here; see `api.py` (one method per endpoint),
`http.py` (transport rules and retries), `errors.py` and `records.py`.
"""

from reconciler.client.api import BriaClient
from reconciler.client.errors import (
    BadRequest,
    BriaError,
    Conflict,
    Forbidden,
    Gone,
    InsecureTransportError,
    MalformedResponse,
    NotFound,
    PreconditionFailed,
    RateLimited,
    ResponseError,
    ServerError,
    TransportError,
    Unauthorized,
    UnexpectedRedirect,
    Unprocessable,
    UnsupportedMediaType,
)
from reconciler.client.http import ClientStats
from reconciler.client.records import (
    MODEL_STATUSES,
    DatasetRecord,
    ImageRecord,
    ModelRecord,
    ProjectRecord,
)

__all__ = [
    "MODEL_STATUSES",
    "BadRequest",
    "BriaClient",
    "BriaError",
    "ClientStats",
    "Conflict",
    "DatasetRecord",
    "Forbidden",
    "Gone",
    "ImageRecord",
    "InsecureTransportError",
    "MalformedResponse",
    "ModelRecord",
    "NotFound",
    "PreconditionFailed",
    "ProjectRecord",
    "RateLimited",
    "ResponseError",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "UnexpectedRedirect",
    "Unprocessable",
    "UnsupportedMediaType",
]
