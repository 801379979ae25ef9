"""Dead-letter topic records (CONTRACT §3), and a letter as `tandem dlq show` prints it."""

from __future__ import annotations

import json

import attrs
import pytest

from adapters.kafka.dead_letters import decode, encode
from adapters.resolutions import resolution, shown
from domain.model import DeadLetter

LETTER = DeadLetter(
    original_event={"op": "c", "after": {"username": "zoë"}},
    key=b'{"id":7}',
    topic="legacy.public.legacy_users",
    partition=2,
    offset=41,
    error_type="MappingError",
    error_message="user.email: is null but required",
    stack_trace="Traceback ...",
    retry_count=3,
    failed_at="2026-01-01T00:00:00+00:00",
)


def test_a_letter_is_recorded_with_exactly_the_contract_fields_in_order() -> None:
    document = json.loads(encode(attrs.evolve(LETTER, id="2-41")))
    contract = (  # CONTRACT §3, as it lists them
        "original_event topic partition offset error_type error_message stack_trace "
        "retry_count failed_at"
    )
    assert list(document) == contract.split()
    assert document["original_event"] == LETTER.original_event


def test_a_record_reads_back_as_the_letter_with_its_key_and_id() -> None:
    assert decode(LETTER.key, encode(LETTER), "2-41") == attrs.evolve(LETTER, id="2-41")


def test_an_older_letter_without_trace_retries_or_time_reads_with_defaults() -> None:
    document = json.loads(encode(LETTER))
    for optional in ("stack_trace", "retry_count", "failed_at"):
        del document[optional]
    letter = decode(None, json.dumps(document).encode(), "0-1")
    assert (letter.stack_trace, letter.retry_count, letter.failed_at) == ("", 0, "")


@pytest.mark.parametrize(
    "value", [b"not json", b"[1, 2]", b'{"topic": "t"}', b'{"original_event": 1, "offset": "x"}']
)
def test_a_record_that_holds_no_letter_is_refused(value: bytes) -> None:
    with pytest.raises((ValueError, TypeError)):
        decode(None, value, "0-1")


def test_a_shown_letter_has_every_field_but_the_key_and_its_resolution_nested() -> None:
    acked = attrs.evolve(LETTER, id="2-41", resolution=resolution("acked", "known bad row"))
    document = shown(acked)
    assert "key" not in document
    assert document["id"] == "2-41"
    assert document["resolution"]["how"] == "acked"
    assert document["resolution"]["reason"] == "known bad row"
