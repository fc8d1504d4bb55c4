"""The conformance runner says when there is no document to check: a service not running behind
the edge answered 503 there, which schemathesis reported as "Unable to determine the Open API
version"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chassis.testing.conformance import check_conformance

pytestmark = pytest.mark.integration


class Unavailable(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"type": "https://souk.dev/problems/gateway/no-healthy-instance"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def unavailable() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_that_is_no_document_is_said_plainly(unavailable: str) -> None:
    with pytest.raises(RuntimeError, match=r"no API document at .*/openapi.json: 503 .*"
                                           r"no-healthy-instance"):
        check_conformance(unavailable)
