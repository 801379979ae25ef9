-- V002: keep source, created_at and updated_at truthful on the legacy platform.
--
-- The sync service marks its own transactions with
--     SELECT set_config('tandem.origin', 'sync_service', true);   -- transaction-local
-- In a marked transaction:    source := 'sync_service'; created_at/updated_at are kept exactly as
--                             written (filled with the current UTC time only when NULL).
-- In any other transaction:   source := TG_ARGV[0] (the platform name), whatever was written;
--                             created_at := current UTC time on INSERT when NULL;
--                             updated_at := current UTC time on every INSERT and UPDATE, and on
--                             UPDATE never less than OLD.updated_at + 1 microsecond, so the row's
--                             version always moves forward even when it was written by the sync
--                             service with a timestamp from a clock that runs ahead.
-- TG_ARGV[1] = 'false' for tables without updated_at (likes).

-- statement
CREATE OR REPLACE FUNCTION tandem_row_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    platform  text         := TG_ARGV[0];
    versioned boolean      := coalesce(TG_ARGV[1], 'true')::boolean;
    now_utc   timestamp(6) := clock_timestamp() AT TIME ZONE 'UTC';
BEGIN
    IF coalesce(current_setting('tandem.origin', true), '') = 'sync_service' THEN
        NEW.source := 'sync_service';
        IF TG_OP = 'INSERT' THEN
            NEW.created_at := coalesce(NEW.created_at, now_utc);
        END IF;
        IF versioned THEN
            NEW.updated_at := coalesce(NEW.updated_at, now_utc);
        END IF;
        RETURN NEW;
    END IF;

    NEW.source := platform;
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := coalesce(NEW.created_at, now_utc);
    END IF;
    IF versioned THEN
        IF TG_OP = 'UPDATE' THEN
            NEW.updated_at := greatest(now_utc, OLD.updated_at + interval '1 microsecond');
        ELSE
            NEW.updated_at := now_utc;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

-- statement
CREATE OR REPLACE TRIGGER legacy_users_tandem_guard
    BEFORE INSERT OR UPDATE ON legacy_users
    FOR EACH ROW EXECUTE FUNCTION tandem_row_guard('legacy', 'true');

-- statement
CREATE OR REPLACE TRIGGER legacy_posts_tandem_guard
    BEFORE INSERT OR UPDATE ON legacy_posts
    FOR EACH ROW EXECUTE FUNCTION tandem_row_guard('legacy', 'true');

-- statement
CREATE OR REPLACE TRIGGER legacy_likes_tandem_guard
    BEFORE INSERT OR UPDATE ON legacy_likes
    FOR EACH ROW EXECUTE FUNCTION tandem_row_guard('legacy', 'false');
