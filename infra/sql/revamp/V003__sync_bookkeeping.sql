-- V003: sync bookkeeping on the revamp platform (MySQL 8.0.16+ and MariaDB 10.6+).
--
-- Expression defaults (UTC_TIMESTAMP(6)) need MySQL 8.0.13+ / MariaDB 10.2+ and do not depend
-- on the session time zone.

-- statement
CREATE TABLE IF NOT EXISTS entity_mappings (
    entity_type      VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    legacy_id        BIGINT      NOT NULL,
    revamp_id        BIGINT      NOT NULL,
    applied_version  BIGINT      NOT NULL DEFAULT 0
        COMMENT 'microseconds since the epoch (UTC) of the last change from the other platform',
    rejected_version BIGINT      NOT NULL DEFAULT 0
        COMMENT 'changes of this database with a version <= this value lost a conflict',
    deleted          BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at       DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6)),
    updated_at       DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6)),
    PRIMARY KEY (entity_type, legacy_id),
    UNIQUE KEY uq_entity_mappings_revamp (entity_type, revamp_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- statement
CREATE TABLE IF NOT EXISTS processed_events (
    event_id     CHAR(36)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    entity_type  VARCHAR(50) NOT NULL,
    origin       VARCHAR(20) NOT NULL,
    processed_at DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6)),
    PRIMARY KEY (event_id),
    KEY ix_processed_events_processed_at (processed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- statement
-- The sync service writes (upserts) a row here first in each of its transactions, so the binlog
-- capture can recognise and drop the whole transaction. One row per writer (id) avoids lock
-- contention between concurrent sync transactions.
CREATE TABLE IF NOT EXISTS tandem_sync_marker (
    id         INT         NOT NULL,
    txn_token  VARCHAR(64) NOT NULL,
    written_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
