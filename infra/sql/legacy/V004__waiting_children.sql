-- V004: children waiting for their parent, past the consumer's in-memory bound
-- (SYNC_MAX_WAITING_IN_MEMORY). Written and removed in the sync's own transactions; the
-- consumer does not commit a partition's offset past a child kept here, so this table is a
-- memory relief, never the only copy.

-- statement
CREATE TABLE IF NOT EXISTS tandem_waiting_children (
    event_id        char(36)         PRIMARY KEY,
    entity_type     varchar(50)      NOT NULL,
    entity_key      varchar(500)     NOT NULL,
    parent_type     varchar(50)      NOT NULL,
    parent_id       bigint           NOT NULL,
    topic           varchar(249)     NOT NULL,
    kafka_partition integer          NOT NULL,
    kafka_offset    bigint           NOT NULL,
    message_key     bytea,
    message_value   bytea,
    message_ts_ms   bigint           NOT NULL DEFAULT 0,
    deadline        double precision NOT NULL,
    reason          text             NOT NULL
);

-- statement
CREATE INDEX IF NOT EXISTS tandem_waiting_children_parent_idx
    ON tandem_waiting_children (parent_type, parent_id);

-- statement
CREATE INDEX IF NOT EXISTS tandem_waiting_children_key_idx
    ON tandem_waiting_children (entity_type, entity_key);

-- statement
CREATE INDEX IF NOT EXISTS tandem_waiting_children_offset_idx
    ON tandem_waiting_children (topic, kafka_partition, kafka_offset);

-- statement
CREATE INDEX IF NOT EXISTS tandem_waiting_children_deadline_idx
    ON tandem_waiting_children (deadline);
