"""The HTTP layer every Souk service is built with: routes declared once, served lean, documented
exactly. See :mod:`chassis.web.routing` for how a route is declared and
:mod:`chassis.web.params` for how its parameters are filled."""

from chassis.auth.principal import Principal
from chassis.web.admission import Priority
from chassis.web.app import App, request_id_var, valid_request_id
from chassis.web.auth import (
    ADMIN,
    USER,
    Auth,
    ClientAddress,
    role,
    services,
    services_from_setting,
)
from chassis.web.params import Body, Header, Path, Query
from chassis.web.request import Request
from chassis.web.responses import (
    JSON,
    Answer,
    Media,
    Response,
    StreamResponse,
    json_response,
)
from chassis.web.routing import Router

__all__ = [
    "ADMIN",
    "JSON",
    "USER",
    "Answer",
    "App",
    "Auth",
    "Body",
    "ClientAddress",
    "Header",
    "Media",
    "Path",
    "Principal",
    "Priority",
    "Query",
    "Request",
    "Response",
    "Router",
    "StreamResponse",
    "json_response",
    "request_id_var",
    "role",
    "services",
    "services_from_setting",
    "valid_request_id",
]
