-- V001: reference schema of the legacy platform (PostgreSQL 15, schema public).
--
-- Every statement is preceded by a line "-- statement" (see adapters/sql_migrations.py).
-- All statements are idempotent. Timestamps are UTC, timestamp(6) without time zone;
-- created_at, updated_at and source are maintained by the triggers of V002.

-- statement
CREATE TABLE IF NOT EXISTS legacy_users (
    id          serial       PRIMARY KEY,
    username    varchar(255) NOT NULL,
    email       varchar(255) NOT NULL,
    status      varchar(20)  NOT NULL DEFAULT 'active',
    source      varchar(20)  NOT NULL DEFAULT 'legacy',
    created_at  timestamp(6) NOT NULL,
    updated_at  timestamp(6) NOT NULL,
    CONSTRAINT legacy_users_email_key UNIQUE (email),
    CONSTRAINT legacy_users_status_check CHECK (status IN ('active', 'inactive', 'banned')),
    CONSTRAINT legacy_users_source_check CHECK (source IN ('legacy', 'revamp', 'sync_service'))
);

-- statement
CREATE TABLE IF NOT EXISTS legacy_posts (
    id            serial       PRIMARY KEY,
    post_title    varchar(255) NOT NULL,
    post_content  text,
    user_id       integer      NOT NULL
                  REFERENCES legacy_users (id) ON DELETE CASCADE,
    status        varchar(20)  NOT NULL DEFAULT 'draft',
    source        varchar(20)  NOT NULL DEFAULT 'legacy',
    created_at    timestamp(6) NOT NULL,
    updated_at    timestamp(6) NOT NULL,
    CONSTRAINT legacy_posts_status_check CHECK (status IN ('draft', 'published', 'archived')),
    CONSTRAINT legacy_posts_source_check CHECK (source IN ('legacy', 'revamp', 'sync_service'))
);

-- statement
CREATE TABLE IF NOT EXISTS legacy_likes (
    id          serial       PRIMARY KEY,
    user_id     integer      NOT NULL REFERENCES legacy_users (id) ON DELETE CASCADE,
    post_id     integer      NOT NULL REFERENCES legacy_posts (id) ON DELETE CASCADE,
    source      varchar(20)  NOT NULL DEFAULT 'legacy',
    created_at  timestamp(6) NOT NULL,
    CONSTRAINT legacy_likes_user_id_post_id_key UNIQUE (user_id, post_id),
    CONSTRAINT legacy_likes_source_check CHECK (source IN ('legacy', 'revamp', 'sync_service'))
);

-- statement
CREATE INDEX IF NOT EXISTS legacy_posts_user_id_idx ON legacy_posts (user_id);

-- statement
-- legacy_likes.user_id is the leading column of the unique (user_id, post_id) index.
CREATE INDEX IF NOT EXISTS legacy_likes_post_id_idx ON legacy_likes (post_id);

-- statement
-- Deletes and updates carry the whole old row in the WAL (and so in the change events).
ALTER TABLE legacy_users REPLICA IDENTITY FULL;

-- statement
ALTER TABLE legacy_posts REPLICA IDENTITY FULL;

-- statement
ALTER TABLE legacy_likes REPLICA IDENTITY FULL;
