"""Request body buffering with a size limit (an in-memory ASGI receive, no sockets)."""

from __future__ import annotations

from typing import Any

import pytest

from chassis.problems import Problem
from gateway.asgi import ClientGone, Message, read_body

pytestmark = pytest.mark.unit


def receiver(*messages: Message) -> Any:
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0)

    return receive


def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "headers": list(headers)}


async def test_reads_a_body_sent_in_chunks() -> None:
    receive = receiver({"type": "http.request", "body": b"ab", "more_body": True},
                       {"type": "http.request", "body": b"cd", "more_body": False})
    assert await read_body(scope((b"transfer-encoding", b"chunked")), receive, 10) == b"abcd"


async def test_a_request_without_length_or_encoding_has_no_body() -> None:
    assert await read_body(scope(), receiver(), 10) == b""


async def test_refuses_a_declared_length_over_the_limit_before_reading() -> None:
    with pytest.raises(Problem) as caught:
        await read_body(scope((b"content-length", b"11")), receiver(), 10)
    assert caught.value.status == 413
    assert caught.value.slug == "gateway/request-too-large"


async def test_refuses_a_chunked_body_once_it_exceeds_the_limit() -> None:
    receive = receiver({"type": "http.request", "body": b"123456", "more_body": True},
                       {"type": "http.request", "body": b"123456", "more_body": True})
    with pytest.raises(Problem) as caught:
        await read_body(scope((b"transfer-encoding", b"chunked")), receive, 10)
    assert caught.value.status == 413


async def test_a_body_of_exactly_the_limit_passes() -> None:
    receive = receiver({"type": "http.request", "body": b"x" * 10, "more_body": False})
    assert await read_body(scope((b"content-length", b"10")), receive, 10) == b"x" * 10


async def test_rejects_a_malformed_content_length() -> None:
    with pytest.raises(Problem) as caught:
        await read_body(scope((b"content-length", b"ten")), receiver(), 10)
    assert caught.value.status == 400


async def test_a_client_that_disconnects_mid_body_is_gone() -> None:
    receive = receiver({"type": "http.request", "body": b"ab", "more_body": True},
                       {"type": "http.disconnect"})
    with pytest.raises(ClientGone):
        await read_body(scope((b"content-length", b"4")), receive, 10)
