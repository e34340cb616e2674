-- Privileges of the application role on a nimbus-codes store, run by the
-- owner role after 'nimbus-codes init' and after each upgrade (docs/postgresql.md):
--   psql "postgresql://nimbus_owner@HOST/nimbus" -f postgresql-grants.sql
-- The application role reads everything and writes only what the daily
-- commands write. It gets no UPDATE, DELETE or TRUNCATE on the permanent
-- records (sessions' conclusions, their codes and tags, the audit trail, the
-- ledger), so even with its password nobody can change them; the store's
-- triggers refuse it to every role, the owner included.
GRANT USAGE ON SCHEMA public TO nimbus_app;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO nimbus_app;
GRANT INSERT ON ou, code, service, service_code, service_extension, session,
                conclusion, conclusion_code, conclusion_tag, audit, ledger, ledger_pending
       TO nimbus_app;
-- Renaming and retiring codes, editing services, completing active calls.
GRANT UPDATE ON code, service, session TO nimbus_app;
-- Code lists are replaced whole; extensions are switched off by removal.
GRANT DELETE ON service_code, service_extension TO nimbus_app;
-- The roster is replaced whole by 'nimbus-codes identity push'; once one is
-- stored, the server lets only tenant admins change it (docs/postgresql.md).
GRANT INSERT, DELETE ON person, person_grant TO nimbus_app;
-- The caller directory is replaced by 'nimbus-codes directory import'; once a
-- roster is stored, the server lets only those who may manage it write it.
GRANT INSERT, UPDATE, DELETE ON directory, directory_entry TO nimbus_app;
-- Context fields are defined by 'nimbus-codes config apply'; sessions' context
-- values are written with them by the import (and never changed once concluded).
GRANT INSERT, UPDATE, DELETE ON context_field TO nimbus_app;
GRANT INSERT ON session_context TO nimbus_app;
-- A call's waiting and talk time arrive with its end, written by the import.
GRANT INSERT ON session_times TO nimbus_app;
-- How sessions' callers read as phone numbers, written with sessions and
-- directories, never changed (schema 13).
GRANT INSERT ON caller_number TO nimbus_app;
-- After-call work: a service's policy is set and removed by its owners; a
-- sweep marks the conclusions it writes (schema 14).
GRANT INSERT, UPDATE, DELETE ON service_wrap_up TO nimbus_app;
GRANT INSERT ON conclusion_default TO nimbus_app;
-- Schema 15: retiring and restoring OUs and services, and deleting those
-- never used (row level security decides who may).
GRANT INSERT, DELETE ON ou_retired, service_retired TO nimbus_app;
GRANT DELETE ON ou, service TO nimbus_app;
