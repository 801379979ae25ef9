-- V002: keep source, created_at and updated_at truthful on the revamp platform.
--
-- The sync service marks its own transactions with the session user variable
--     SET @tandem_origin = 'sync_service';
-- (a session variable outlives the transaction: the sync service must reset it to NULL before a
-- pooled connection is reused for anything else).
-- When marked:       source := 'sync_service'; created_at/updated_at are kept exactly as written
--                    (filled with UTC_TIMESTAMP(6) only when NULL).
-- Otherwise:         source := 'revamp', whatever the application wrote;
--                    created_at := UTC_TIMESTAMP(6) on INSERT when NULL;
--                    updated_at := UTC_TIMESTAMP(6) on every INSERT and UPDATE, and on UPDATE never
--                    less than OLD.updated_at + 1 microsecond, so the row's version always moves
--                    forward even after a sync write stamped by a clock that runs ahead.
-- MySQL has no CREATE OR REPLACE TRIGGER: each trigger is dropped if it exists, then created.
-- No DELIMITER: each CREATE TRIGGER is sent to the server as one statement.

-- statement
DROP TRIGGER IF EXISTS revamp_users_tandem_bi;

-- statement
CREATE TRIGGER revamp_users_tandem_bi BEFORE INSERT ON revamp_users FOR EACH ROW
BEGIN
    IF COALESCE(@tandem_origin, '') = 'sync_service' THEN
        SET NEW.source = 'sync_service';
        SET NEW.created_at = COALESCE(NEW.created_at, UTC_TIMESTAMP(6));
        SET NEW.updated_at = COALESCE(NEW.updated_at, UTC_TIMESTAMP(6));
    ELSE
        SET NEW.source = 'revamp';
        SET NEW.created_at = COALESCE(NEW.created_at, UTC_TIMESTAMP(6));
        SET NEW.updated_at = UTC_TIMESTAMP(6);
    END IF;
END;

-- statement
DROP TRIGGER IF EXISTS revamp_users_tandem_bu;

-- statement
CREATE TRIGGER revamp_users_tandem_bu BEFORE UPDATE ON revamp_users FOR EACH ROW
BEGIN
    IF COALESCE(@tandem_origin, '') = 'sync_service' THEN
        SET NEW.source = 'sync_service';
        SET NEW.updated_at = COALESCE(NEW.updated_at, OLD.updated_at, UTC_TIMESTAMP(6));
    ELSE
        SET NEW.source = 'revamp';
        SET NEW.updated_at = GREATEST(
            UTC_TIMESTAMP(6),
            COALESCE(OLD.updated_at + INTERVAL 1 MICROSECOND, UTC_TIMESTAMP(6))
        );
    END IF;
END;

-- statement
DROP TRIGGER IF EXISTS revamp_posts_tandem_bi;

-- statement
CREATE TRIGGER revamp_posts_tandem_bi BEFORE INSERT ON revamp_posts FOR EACH ROW
BEGIN
    IF COALESCE(@tandem_origin, '') = 'sync_service' THEN
        SET NEW.source = 'sync_service';
        SET NEW.created_at = COALESCE(NEW.created_at, UTC_TIMESTAMP(6));
        SET NEW.updated_at = COALESCE(NEW.updated_at, UTC_TIMESTAMP(6));
    ELSE
        SET NEW.source = 'revamp';
        SET NEW.created_at = COALESCE(NEW.created_at, UTC_TIMESTAMP(6));
        SET NEW.updated_at = UTC_TIMESTAMP(6);
    END IF;
END;

-- statement
DROP TRIGGER IF EXISTS revamp_posts_tandem_bu;

-- statement
CREATE TRIGGER revamp_posts_tandem_bu BEFORE UPDATE ON revamp_posts FOR EACH ROW
BEGIN
    IF COALESCE(@tandem_origin, '') = 'sync_service' THEN
        SET NEW.source = 'sync_service';
        SET NEW.updated_at = COALESCE(NEW.updated_at, OLD.updated_at, UTC_TIMESTAMP(6));
    ELSE
        SET NEW.source = 'revamp';
        SET NEW.updated_at = GREATEST(
            UTC_TIMESTAMP(6),
            COALESCE(OLD.updated_at + INTERVAL 1 MICROSECOND, UTC_TIMESTAMP(6))
        );
    END IF;
END;

-- statement
DROP TRIGGER IF EXISTS revamp_likes_tandem_bi;

-- statement
CREATE TRIGGER revamp_likes_tandem_bi BEFORE INSERT ON revamp_likes FOR EACH ROW
BEGIN
    IF COALESCE(@tandem_origin, '') = 'sync_service' THEN
        SET NEW.source = 'sync_service';
        SET NEW.created_at = COALESCE(NEW.created_at, UTC_TIMESTAMP(6));
    ELSE
        SET NEW.source = 'revamp';
        SET NEW.created_at = COALESCE(NEW.created_at, UTC_TIMESTAMP(6));
    END IF;
END;

-- statement
DROP TRIGGER IF EXISTS revamp_likes_tandem_bu;

-- statement
CREATE TRIGGER revamp_likes_tandem_bu BEFORE UPDATE ON revamp_likes FOR EACH ROW
BEGIN
    IF COALESCE(@tandem_origin, '') = 'sync_service' THEN
        SET NEW.source = 'sync_service';
        SET NEW.created_at = COALESCE(NEW.created_at, OLD.created_at);
    ELSE
        SET NEW.source = 'revamp';
        SET NEW.created_at = COALESCE(NEW.created_at, OLD.created_at);
    END IF;
END;
