-- nimbus-codes schema 7: the ledger. Every permanent record (a conclusion with
-- its codes, tags and the session's call data; a call's end that arrived after
-- its conclusion; every audit record) gets one entry, in commit order, holding
-- the SHA-256 of the record's canonical form and a hash chained over all the
-- entries before it. `nimbus-codes verify` recomputes both. Existing records
-- are chained by `init` when it upgrades a store to this schema.

CREATE TABLE ledger (
    position    INTEGER PRIMARY KEY,        -- 1, 2, ... in commit order
    kind        TEXT NOT NULL CHECK (kind IN ('conclusion', 'completion', 'audit')),
    record_id   INTEGER NOT NULL,           -- a session's id, or an audit record's
    record_hash TEXT NOT NULL CHECK (length(record_hash) = 64),
    chain_hash  TEXT NOT NULL CHECK (length(chain_hash) = 64)
) STRICT;

-- A call's end is chained once; the conclusion that came before it is read
-- without it. Only these few entries are indexed: every other append writes
-- the table alone.
CREATE UNIQUE INDEX ledger_completion ON ledger (record_id) WHERE kind = 'completion';

-- Entries are appended, one after the other, and never changed.
CREATE TRIGGER ledger_appends_only BEFORE INSERT ON ledger
WHEN NEW.position IS NOT (SELECT coalesce(max(position), 0) + 1 FROM ledger)
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
