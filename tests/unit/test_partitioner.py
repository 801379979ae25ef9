"""Keys go to the partitions `tandem migrate` creates, whatever a broker recreated."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2

from adapters.kafka.publisher import first_partition
from adapters.kafka.publisher import murmur2 as ours_murmur2


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
