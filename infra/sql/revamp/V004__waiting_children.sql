-- V004: children waiting for their parent, past the consumer's in-memory bound
-- (SYNC_MAX_WAITING_IN_MEMORY). Written and removed in the sync's own transactions; the
-- consumer does not commit a partition's offset past a child kept here, so this table is a
-- memory relief, never the only copy.

-- statement
CREATE TABLE IF NOT EXISTS tandem_waiting_children (
    event_id        CHAR(36)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    entity_type     VARCHAR(50)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    entity_key      VARCHAR(500) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    parent_type     VARCHAR(50)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    parent_id       BIGINT       NOT NULL,
    topic           VARCHAR(249) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    kafka_partition INT          NOT NULL,
    kafka_offset    BIGINT       NOT NULL,
    message_key     LONGBLOB,
    message_value   LONGBLOB,
    message_ts_ms   BIGINT       NOT NULL DEFAULT 0,
    deadline        DOUBLE       NOT NULL,
    reason          TEXT         NOT NULL,
    PRIMARY KEY (event_id),
    KEY ix_tandem_waiting_children_parent (parent_type, parent_id),
    KEY ix_tandem_waiting_children_key (entity_type, entity_key),
    KEY ix_tandem_waiting_children_offset (topic, kafka_partition, kafka_offset),
    KEY ix_tandem_waiting_children_deadline (deadline)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
