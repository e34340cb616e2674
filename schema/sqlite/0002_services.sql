-- nimbus-codes schema 2: services, their ordered code lists and their My Sessions extensions.

CREATE TABLE service (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    name_key   TEXT NOT NULL UNIQUE,  -- case-folded name
    ou_id      INTEGER NOT NULL REFERENCES ou (id),
    license    TEXT NOT NULL CHECK (license IN ('basic-routing', 'advanced-routing',
                                                'enterprise-routing', 'contact-center')),
    created_at TEXT NOT NULL
) STRICT;

-- The ordered primary and secondary lists: position 1 is what agents see first.
CREATE TABLE service_code (
    service_id INTEGER NOT NULL REFERENCES service (id),
    list       TEXT NOT NULL CHECK (list IN ('primary', 'secondary')),
    position   INTEGER NOT NULL CHECK (position >= 1),
    code_id    INTEGER NOT NULL REFERENCES code (id),
    PRIMARY KEY (service_id, list, position),
    UNIQUE (service_id, list, code_id)
) STRICT;

CREATE INDEX service_code_by_code ON service_code (code_id);

-- A list holds only live codes of its own type.
CREATE TRIGGER service_code_type_matches BEFORE INSERT ON service_code
WHEN (SELECT type FROM code WHERE id = NEW.code_id) IS NOT NEW.list
  OR (SELECT deleted_at FROM code WHERE id = NEW.code_id) IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a service list holds only undeleted codes of its own type');
END;

-- Enabled My Sessions features; a missing row means off. Feature names are
-- checked by the application's feature table, so a new feature needs no migration.
CREATE TABLE service_extension (
    service_id INTEGER NOT NULL REFERENCES service (id),
    feature    TEXT NOT NULL CHECK (length(feature) BETWEEN 1 AND 64),
    PRIMARY KEY (service_id, feature)
) STRICT, WITHOUT ROWID;
