-- V001: reference schema of the revamp platform (MySQL 8.0.16+ and MariaDB 10.6+).
--
-- Every statement is preceded by a line "-- statement" (see adapters/sql_migrations.py).
-- DDL autocommits on MySQL, so every statement is idempotent on its own. Indexes are declared
-- inside CREATE TABLE because MySQL has no CREATE INDEX IF NOT EXISTS.
-- Timestamps are UTC DATETIME(6) without defaults that depend on the session time zone:
-- created_at, updated_at and source are maintained by the triggers of V002.
-- status and email_address use utf8mb4_bin so that the status check and the email uniqueness
-- are case-sensitive, as on the legacy PostgreSQL side.

-- statement
CREATE TABLE IF NOT EXISTS revamp_users (
    id             INT          NOT NULL AUTO_INCREMENT,
    user_name      VARCHAR(255) NOT NULL,
    email_address  VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    status         VARCHAR(20)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
                   DEFAULT 'Active',
    source         VARCHAR(20)  NOT NULL DEFAULT 'revamp',
    created_at     DATETIME(6)  NOT NULL,
    updated_at     DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_revamp_users_email_address (email_address),
    CONSTRAINT chk_revamp_users_status CHECK (status IN ('Active', 'Inactive', 'Banned')),
    CONSTRAINT chk_revamp_users_source CHECK (source IN ('legacy', 'revamp', 'sync_service'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- statement
CREATE TABLE IF NOT EXISTS revamp_posts (
    id          INT          NOT NULL AUTO_INCREMENT,
    title       VARCHAR(255) NOT NULL,
    content     TEXT         NULL,
    author_id   INT          NOT NULL,
    status      VARCHAR(20)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT 'Draft',
    source      VARCHAR(20)  NOT NULL DEFAULT 'revamp',
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY ix_revamp_posts_author_id (author_id),
    CONSTRAINT fk_revamp_posts_author FOREIGN KEY (author_id)
        REFERENCES revamp_users (id) ON DELETE CASCADE,
    CONSTRAINT chk_revamp_posts_status CHECK (status IN ('Draft', 'Published', 'Archived')),
    CONSTRAINT chk_revamp_posts_source CHECK (source IN ('legacy', 'revamp', 'sync_service'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- statement
CREATE TABLE IF NOT EXISTS revamp_likes (
    id          INT          NOT NULL AUTO_INCREMENT,
    user_id     INT          NOT NULL,
    post_id     INT          NOT NULL,
    source      VARCHAR(20)  NOT NULL DEFAULT 'revamp',
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_revamp_likes_user_post (user_id, post_id),
    KEY ix_revamp_likes_post_id (post_id),
    CONSTRAINT fk_revamp_likes_user FOREIGN KEY (user_id)
        REFERENCES revamp_users (id) ON DELETE CASCADE,
    CONSTRAINT fk_revamp_likes_post FOREIGN KEY (post_id)
        REFERENCES revamp_posts (id) ON DELETE CASCADE,
    CONSTRAINT chk_revamp_likes_source CHECK (source IN ('legacy', 'revamp', 'sync_service'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
