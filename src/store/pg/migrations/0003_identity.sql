-- Users, access keys and viewer sessions (src/auth/pg-identity-store.ts, pg-session-store.ts).
-- Key secrets are AES-256-GCM under the server key, which every node must share (KESTREL_SERVER_KEY);
-- kestrel_info 'server_key_check' holds an HMAC of it so a node with another key refuses to start.
CREATE TABLE kestrel_users (
  name           text   PRIMARY KEY,
  role           text   NOT NULL,
  producer_scope jsonb,
  password_hash  text,
  created_at     bigint NOT NULL
);

CREATE TABLE kestrel_access_keys (
  access_key_id text   PRIMARY KEY,
  user_name     text   NOT NULL REFERENCES kestrel_users (name) ON DELETE CASCADE,
  secret_enc    text   NOT NULL,
  created_at    bigint NOT NULL
);
CREATE INDEX kestrel_access_keys_user ON kestrel_access_keys (user_name);

CREATE TABLE kestrel_sessions (
  id_hash      text   PRIMARY KEY,
  user_name    text   NOT NULL,
  csrf_token   text   NOT NULL,
  created_at   bigint NOT NULL,
  last_seen_at bigint NOT NULL
);
CREATE INDEX kestrel_sessions_user ON kestrel_sessions (user_name, last_seen_at);
CREATE INDEX kestrel_sessions_seen ON kestrel_sessions (last_seen_at);
