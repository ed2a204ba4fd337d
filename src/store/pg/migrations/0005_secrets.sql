-- Secrets every node shares (playback session key, webhook signing key): created once with
-- INSERT … ON CONFLICT DO NOTHING, then read back, so concurrent first starts agree on one value.
CREATE TABLE kestrel_secrets (
  name text PRIMARY KEY,
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
