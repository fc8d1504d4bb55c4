"""Malformed OTLP/JSON never becomes a 5xx: decoding raises InvalidExport (a 400) or rejects spans
one by one, and converting a held span — done long after the request was answered, when its trace
is kept — never fails and always gives values the store can write."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from telemetry.adapters.otlp_json import decode_json
from telemetry.domain.errors import InvalidExport

from ...conftest import json_export, json_span

pytestmark = pytest.mark.unit

_ODD = [None, True, False, 0, -1, 2**63, 2**64 - 1, 1.5, -0.0, 1e300, "", "x", "2", "NaN",
        "STATUS_CODE_ERROR", "0" * 32, "f" * 16, [], [1, "a"], {}, {"key": "k"},
        {"stringValue": 3}, {"intValue": "9" * 30}, {"arrayValue": {"values": [{}]}},
        {"kvlistValue": {"values": [{"key": 1, "value": {"boolValue": "no"}}]}}]


def _mutate(node: Any, rng: random.Random) -> Any:
    """``node`` with one random sub-node replaced by an odd value (or dropped from its parent)."""
    if isinstance(node, dict) and node and rng.random() < 0.8:
        key = rng.choice(list(node))
        copy = dict(node)
        if rng.random() < 0.15:
            del copy[key]
        else:
            copy[key] = _mutate(node[key], rng)
        return copy
    if isinstance(node, list) and node and rng.random() < 0.8:
        index = rng.randrange(len(node))
        return [*node[:index], _mutate(node[index], rng), *node[index + 1:]]
    return rng.choice(_ODD)


def test_random_damage_is_a_clear_invalid_export_or_rejected_spans_never_a_crash() -> None:
    rng = random.Random(2024)
    valid = orjson.loads(json_export("orders", *[
        json_span(1, n, n - 1 or None, start_ms=n, error=n == 3, souk__keep=n == 2,
                  souk__order_id="o-1", attempt=n, ratio=0.5) for n in range(1, 5)]))
    for span in valid["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        span["events"] = [{"timeUnixNano": "5", "name": "publish",
                           "attributes": [{"key": "n", "value": {"intValue": 1}}]}]
    outcomes = {"invalid": 0, "decoded": 0}
    for _ in range(3000):
        doc = valid
        for _ in range(rng.randint(1, 3)):
            doc = _mutate(doc, rng)
        try:
            decoded = decode_json(orjson.dumps(doc))
        except InvalidExport:
            outcomes["invalid"] += 1
            continue
        outcomes["decoded"] += 1
        assert decoded.spans + decoded.rejected >= 0
        for fragment in decoded.fragments:
            spans = fragment.spans()
            assert len(spans) == fragment.size
            for span in spans:
                assert 0 <= span.start_ns < 2**63 and 0 <= span.end_ns < 2**63
                orjson.dumps([span.attributes, span.events, span.name, span.status_message])
    assert outcomes["invalid"] > 100 and outcomes["decoded"] > 1000  # both paths were exercised
