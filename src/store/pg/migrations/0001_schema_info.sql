-- Placeholder first version: records which Kestrel schema family this database holds.
CREATE TABLE IF NOT EXISTS kestrel_info (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO kestrel_info (key, value) VALUES ('schema', 'kestrel') ON CONFLICT (key) DO NOTHING;
