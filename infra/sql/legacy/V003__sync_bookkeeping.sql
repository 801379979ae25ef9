-- V003: sync bookkeeping and capture prerequisites on the legacy platform.
--
-- The replication slot is NOT created here: the capture (Debezium or entrypoints.cdc) creates
-- its own. The replication origin and the publication need a superuser (or, on PostgreSQL 15,
-- EXECUTE on pg_replication_origin_create and ownership of the tables).

-- statement
CREATE TABLE IF NOT EXISTS entity_mappings (
    entity_type      varchar(50)  NOT NULL,
    legacy_id        bigint       NOT NULL,
    revamp_id        bigint       NOT NULL,
    applied_version  bigint       NOT NULL DEFAULT 0,
    rejected_version bigint       NOT NULL DEFAULT 0,
    deleted          boolean      NOT NULL DEFAULT false,
    created_at       timestamp(6) NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    updated_at       timestamp(6) NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    PRIMARY KEY (entity_type, legacy_id),
    CONSTRAINT entity_mappings_revamp_key UNIQUE (entity_type, revamp_id)
);

-- statement
COMMENT ON COLUMN entity_mappings.applied_version IS
    'microseconds since the epoch (UTC) of the last change from the other platform applied here';

-- statement
COMMENT ON COLUMN entity_mappings.rejected_version IS
    'changes of this database with a version <= this value lost a conflict and are not synced';

-- statement
CREATE TABLE IF NOT EXISTS processed_events (
    event_id     char(36)     PRIMARY KEY,
    entity_type  varchar(50)  NOT NULL,
    origin       varchar(20)  NOT NULL,
    processed_at timestamp(6) NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC')
);

-- statement
CREATE INDEX IF NOT EXISTS processed_events_processed_at_idx ON processed_events (processed_at);

-- statement
-- Cluster-wide: the sync service runs pg_replication_origin_session_setup('tandem_sync') so its
-- own changes carry this origin in logical decoding.
SELECT pg_replication_origin_create('tandem_sync')
WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = 'tandem_sync');

-- statement
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'tandem_legacy') THEN
        CREATE PUBLICATION tandem_legacy FOR TABLE legacy_users, legacy_posts, legacy_likes;
    END IF;
END;
$$;
