from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import api

from chassis.live import default_author
from chassis.messaging import dead_letters
from chassis.testing import nats_server
from souk.dlq import DlqError, count_by_consumer, list_dead_letters, replay

pytestmark = pytest.mark.integration

ORIGINAL = {"Souk-Msg-Id": "o1.reserve", "Souk-Type": "inventory.ReserveStock.v1",
            "Souk-Correlation-Id": "o1", "traceparent": "00-abc-def-01"}


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    with nats_server(tmp_path / "js") as url:
        yield url


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[Any]:
    nc = await nats.connect(nats_url)
    jetstream = nc.jetstream()
    for name, subjects in (("SOUK", ["souk.>"]), ("SOUK_DLQ", ["souk-dlq.>"])):
        await jetstream.add_stream(api.StreamConfig(name=name, subjects=subjects,
                                                    duplicate_window=120))
    yield jetstream
    await nc.close()


async def dead_letter(js: Any, consumer: str, msg_id: str, error: str = "boom") -> int:
    headers = {**ORIGINAL, "Souk-Msg-Id": msg_id, "Nats-Msg-Id": f"dlq.{consumer}.{msg_id}",
               "Souk-Dlq-Consumer": consumer, "Souk-Dlq-Subject": "souk.inventory.ReserveStock.v1",
               "Souk-Dlq-Error": error, "Souk-Dlq-Deliveries": "5"}
    ack = await js.publish(f"souk-dlq.{consumer}", b'{"order_id": "o1"}', headers=headers)
    return int(ack.seq)


async def test_lists_every_dead_letter_with_its_consumer_and_error(js: Any, nats_url: str) -> None:
    await js.publish("souk-dlq.other", b"noise")  # not ours: no Souk headers, still listed
    first = await dead_letter(js, "inventory", "o1.reserve", "bad sku")
    second = await dead_letter(js, "payments", "o2.authorize")

    letters = await list_dead_letters(nats_url)

    assert [(d.seq, d.consumer, d.msg_id, d.error, d.deliveries) for d in letters[1:]] == [
        (first, "inventory", "o1.reserve", "bad sku", 5),
        (second, "payments", "o2.authorize", "boom", 5)]
    assert letters[0].consumer == "other"
    assert all(letter.time is not None for letter in letters)


async def test_counts_dead_letters_per_consumer(js: Any, nats_url: str) -> None:
    await dead_letter(js, "inventory", "a")
    await dead_letter(js, "inventory", "b")
    await dead_letter(js, "payments", "c")

    assert await count_by_consumer(nats_url) == {"inventory": 2, "payments": 1}


async def test_no_dlq_stream_means_no_dead_letters(nats_url: str) -> None:
    assert await count_by_consumer(nats_url) == {}
    assert await list_dead_letters(nats_url) == []


async def test_replay_republishes_the_original_under_a_fresh_nats_msg_id(
        js: Any, nats_url: str) -> None:
    seq = await dead_letter(js, "inventory", "o1.reserve")
    await dead_letter(js, "payments", "o2.authorize")

    done = await replay(nats_url, [seq])
    again = await replay(nats_url, [seq])  # a second replay of the same letter is deduped

    assert [(r.seq, r.subject, r.nats_msg_id, r.duplicate) for r in done] == [
        (seq, "souk.inventory.ReserveStock.v1", f"o1.reserve.replay.{seq}", False)]
    assert again[0].duplicate
    message = await js.get_msg("SOUK", done[0].stream_seq)
    assert message.subject == "souk.inventory.ReserveStock.v1"
    assert message.data == b'{"order_id": "o1"}'
    assert message.headers == {**ORIGINAL, "Nats-Msg-Id": f"o1.reserve.replay.{seq}"}
    assert (await js.stream_info("SOUK")).state.messages == 1
    assert len(await list_dead_letters(nats_url)) == 2  # left in place
    # each replay is on record (the console marks the letter replayed); the other letter not
    records = await dead_letters.replays(js, [seq, seq + 1])
    assert list(records) == [seq]
    assert records[seq].nats_msg_id == f"o1.reserve.replay.{seq}"
    assert records[seq].by == default_author() and records[seq].at


async def test_replay_all_republishes_every_dead_letter(js: Any, nats_url: str) -> None:
    await dead_letter(js, "inventory", "a")
    await dead_letter(js, "inventory", "b")

    done = await replay(nats_url, None)

    assert [r.msg_id for r in done] == ["a", "b"]
    assert (await js.stream_info("SOUK")).state.messages == 2


async def test_replaying_a_sequence_not_in_the_dlq_publishes_nothing(js: Any,
                                                                     nats_url: str) -> None:
    seq = await dead_letter(js, "inventory", "a")

    with pytest.raises(DlqError, match=f"not in SOUK_DLQ: {seq + 5}"):
        await replay(nats_url, [seq, seq + 5])
    assert (await js.stream_info("SOUK")).state.messages == 0


async def test_an_unreachable_nats_is_a_clear_error() -> None:
    from chassis.testing import free_port

    with pytest.raises(DlqError, match="cannot reach NATS"):
        await list_dead_letters(f"nats://127.0.0.1:{free_port()}")



async def test_a_broker_that_never_answers_is_said_to_be_silent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A paused nats-server takes the connection and says nothing, and the connect times out
    with an empty TimeoutError: the error said "cannot reach NATS at …: " and stopped."""
    import nats

    async def silent(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError

    monkeypatch.setattr(nats, "connect", silent)
    with pytest.raises(DlqError) as refused:
        await list_dead_letters("nats://127.0.0.1:4999")
    assert str(refused.value) == ("cannot reach NATS at nats://127.0.0.1:4999: no answer within "
                                  "10 s (is it paused? souk status)")
