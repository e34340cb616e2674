-- nimbus-codes schema 4 for PostgreSQL: schema/sqlite/0004 gives SQLite the
-- rules this schema had from the start. Here, the trigger functions stop
-- resolving table names through the caller's search_path: a role that puts a
-- table of its own first on its path cannot make them check the wrong rows.
ALTER FUNCTION nimbus_refuse() SET search_path FROM CURRENT;
ALTER FUNCTION service_code_type_matches() SET search_path FROM CURRENT;
ALTER FUNCTION conclusion_part_within_count() SET search_path FROM CURRENT;
ALTER FUNCTION session_concluded_is_final() SET search_path FROM CURRENT;
