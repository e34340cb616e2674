-- nimbus-codes schema 15 for PostgreSQL, as schema/sqlite/0015: retired OUs
-- and services, and the deletion of those never used. Foreign keys refuse to
-- delete what anything names; row level security lets only those who may
-- retire, restore or delete do so.

CREATE TABLE ou_retired (
    ou_id      BIGINT PRIMARY KEY REFERENCES ou (id),
    retired_at TEXT NOT NULL
);

CREATE TABLE service_retired (
    service_id BIGINT PRIMARY KEY REFERENCES service (id),
    retired_at TEXT NOT NULL
);

-- An OU is retired, restored or deleted by those who may create it (the
-- rule's scope is its parent); a service by those who may change it.
ALTER TABLE ou_retired ENABLE ROW LEVEL SECURITY;
CREATE POLICY ou_retired_read ON ou_retired FOR SELECT USING (true);
CREATE POLICY ou_retired_manage ON ou_retired FOR ALL
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR EXISTS (SELECT 1 FROM ou o
                      WHERE o.id = ou_retired.ou_id
                        AND o.parent_id = ANY ((SELECT nimbus_ous('create-ou'))::bigint[])));
CREATE POLICY ou_remove ON ou FOR DELETE
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR parent_id = ANY ((SELECT nimbus_ous('create-ou'))::bigint[]));

ALTER TABLE service_retired ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_retired_read ON service_retired FOR SELECT USING (true);
CREATE POLICY service_retired_manage ON service_retired FOR ALL
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('change-service'))::bigint[]));
CREATE POLICY service_remove ON service FOR DELETE
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR id = ANY ((SELECT nimbus_services('change-service'))::bigint[]));
