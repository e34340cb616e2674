-- nimbus-codes schema 9: on PostgreSQL, the server enforces the role table
-- for people who connect as their own database roles
-- (schema/postgresql/0009_server_roles.sql). A SQLite store has no database
-- roles: the identity file says who may do what, and the operating system
-- who may open the store (docs/guide.md).
--
-- What SQLite shares is the ledger's waiting room: on such a server, writers
-- do not wait for one another, so their ledger entries wait in
-- ledger_pending until they are chained. SQLite's writers run one at a time
-- and chain at once, so here the table stays empty; it exists so that both
-- engines read the ledger with the same statements.
CREATE TABLE ledger_pending (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('conclusion', 'completion', 'audit')),
    record_id   INTEGER NOT NULL,
    record_hash TEXT NOT NULL CHECK (length(record_hash) = 64)
) STRICT;

CREATE TRIGGER ledger_pending_no_update BEFORE UPDATE ON ledger_pending
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
