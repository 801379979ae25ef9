"""Keys go to the partitions `tandem migrate` creates, whatever a broker recreated."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2

from adapters.kafka.partitioning import first_partition
from adapters.kafka.partitioning import murmur2 as ours_murmur2


def test_keys_land_where_kafkas_partitioner_puts_them_on_the_created_partitions() -> None:
    for key in (b'{"id":%d}' % i for i in range(200)):
        kafka = (murmur2(key) & 0x7FFFFFFF) % 3
        assert first_partition(key, 3, 3) == kafka
        # recreated by the broker itself with 4 partitions: the key stays where it was
        assert first_partition(key, 3, 4) == kafka


def test_fewer_partitions_than_configured_use_those_there_are() -> None:
    assert {first_partition(b"k%d" % i, 3, 1) for i in range(50)} == {0}


@given(st.binary(max_size=300))
def test_murmur2_is_kafkas(key: bytes) -> None:
    assert ours_murmur2(key) == murmur2(key)


SCHEMA = b'{"schema":{"type":"struct","fields":[{"type":"int64","field":"id"}]},'


@given(st.lists(st.binary(max_size=12), min_size=1, max_size=20), st.sampled_from([b"", b"x"]))
def test_keys_sharing_a_schema_part_hash_as_kafka_does_cached_or_not(
    payloads: list[bytes], extra: bytes
) -> None:
    for payload in payloads * 2:  # the second time from the cached state of the schema part
        key = SCHEMA + extra + b'"payload":{"id":' + payload + b"}"
        assert ours_murmur2(key) == murmur2(key)
