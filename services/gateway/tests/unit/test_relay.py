"""A service's problem made public at the edge (``gateway.relay.public_problem``)."""

from __future__ import annotations

import orjson
import pytest

from gateway.relay import public_problem

pytestmark = pytest.mark.unit

PROBLEM = [(b"content-type", b"application/problem+json"), (b"content-length", b"0")]


def relocate(path: bytes) -> bytes | None:
    return b"/api" + path if path.startswith(b"/v1/cart") else None


def problem(**fields: object) -> bytes:
    return orjson.dumps({"type": "https://souk.dev/problems/x", "status": 404, **fields})


def test_the_instance_becomes_the_public_path_and_the_length_follows() -> None:
    headers, body = public_problem(404, PROBLEM, problem(instance="/v1/cart/items/X"), relocate)

    assert orjson.loads(body) == {"type": "https://souk.dev/problems/x", "status": 404,
                                  "instance": "/api/v1/cart/items/X"}
    assert dict(headers)[b"content-length"] == b"%d" % len(body)
    assert [name for name, _ in headers].count(b"content-length") == 1


def test_an_instance_no_public_path_leads_to_is_left_out() -> None:
    _, body = public_problem(404, PROBLEM, problem(instance="/v1/internal/prices"), relocate)

    assert "instance" not in orjson.loads(body)


@pytest.mark.parametrize(("status", "headers", "body"), [
    (200, PROBLEM, problem(instance="/v1/cart")),  # a success
    (404, [(b"content-type", b"application/json")], problem(instance="/v1/cart")),
    (404, [*PROBLEM, (b"content-encoding", b"gzip")], problem(instance="/v1/cart")),
    (404, PROBLEM, b"{not json"),
    (404, PROBLEM, b"[1, 2]"),
    (404, PROBLEM, problem(instance="https://example.com/v1/cart")),  # not a path
    (404, PROBLEM, problem(detail="no instance at all")),
])
def test_anything_else_passes_as_it_is(status: int, headers: list[tuple[bytes, bytes]],
                                       body: bytes) -> None:
    assert public_problem(status, headers, body, relocate) == (headers, body)


def test_without_a_relocation_nothing_changes() -> None:
    body = problem(instance="/v1/cart")
    assert public_problem(404, PROBLEM, body, None) == (PROBLEM, body)
