"""Keys go to the partitions `tandem migrate` creates, whatever a broker recreated."""

from __future__ import annotations

from kafka.partitioner.default import murmur2

from adapters.kafka.publisher import FirstPartitions


class _Cluster:
    def __init__(self, partitions: int) -> None:
        self.count = partitions

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.count))

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.count))

    def topics(self) -> set[str]:
        return {"t"}


def test_keys_land_where_kafkas_partitioner_puts_them_on_the_created_partitions() -> None:
    keys = [b'{"id":%d}' % i for i in range(200)]
    ours = FirstPartitions(3)
    for key in keys:
        kafka = (murmur2(key) & 0x7FFFFFFF) % 3
        assert ours.partition("t", None, key, None, None, _Cluster(3)) == kafka
        # recreated by the broker itself with 4 partitions: the key stays where it was
        assert ours.partition("t", None, key, None, None, _Cluster(4)) == kafka


def test_fewer_partitions_than_configured_use_those_there_are() -> None:
    assert {FirstPartitions(3).partition("t", None, b"k%d" % i, None, None, _Cluster(1))
            for i in range(50)} == {0}  # fmt: skip
