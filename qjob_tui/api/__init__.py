"""The job library: the only code that speaks HTTP to a job service.

``JobClient`` talks the IBM Quantum REST API v1 to IBM's cloud or to the local service and
returns ``qjob_tui.model`` objects; ``Source`` says where and with which credentials.
"""

from qjob_tui.api.client import JobClient, JobPage, WorkloadPage
from qjob_tui.api.errors import (
    ApiError,
    BadRequest,
    BadResponse,
    InvalidState,
    NetworkError,
    NotAuthorized,
    NotFound,
    RateLimited,
    ServerError,
    Unsupported,
)
from qjob_tui.api.source import Source
from qjob_tui.model import InstanceUsage

__all__ = [
    "ApiError",
    "BadRequest",
    "BadResponse",
    "InstanceUsage",
    "InvalidState",
    "JobClient",
    "JobPage",
    "NetworkError",
    "NotAuthorized",
    "NotFound",
    "RateLimited",
    "ServerError",
    "Source",
    "Unsupported",
    "WorkloadPage",
]
