-- nimbus-codes schema 7 for PostgreSQL, as schema/sqlite/0007: the ledger that
-- chains every permanent record in commit order.

CREATE TABLE ledger (
    position    bigint PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('conclusion', 'completion', 'audit')),
    record_id   bigint NOT NULL,
    record_hash text NOT NULL CHECK (length(record_hash) = 64),
    chain_hash  text NOT NULL CHECK (length(chain_hash) = 64)
);

-- A call's end is chained once; the conclusion that came before it is read
-- without it. Only these few entries are indexed: every other append writes
-- the table alone.
CREATE UNIQUE INDEX ledger_completion ON ledger (record_id) WHERE kind = 'completion';

CREATE FUNCTION ledger_appends_only() RETURNS trigger LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.position IS DISTINCT FROM (SELECT coalesce(max(position), 0) + 1 FROM ledger) THEN
        RAISE EXCEPTION 'the ledger is append-only' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER ledger_appends_only BEFORE INSERT ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_appends_only();
CREATE TRIGGER ledger_no_change BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION nimbus_refuse('the ledger is append-only');
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION nimbus_refuse('the ledger is append-only');

-- As in schema 6: the store's schema first, pg_temp last.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION ledger_appends_only() SET search_path = %I, pg_temp',
                   current_schema());
END
$$;
