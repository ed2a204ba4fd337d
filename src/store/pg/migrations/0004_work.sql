-- Work stores (src/app-work-stores.ts): detection events, analysis jobs, the webhook outbox, detection
-- config overrides and checkpoints. Same tables and columns as the SQLite ones (importWorkStores copies
-- them as they are). Times are ms epoch as double precision (exact to 2^53; producer times may be
-- fractional, which SQLite allows); documents are JSON text, returned byte for byte. Ordered text keys
-- use COLLATE "C" so keyset pages sort byte-wise, as in SQLite.

CREATE TABLE kestrel_events (
  id text COLLATE "C" PRIMARY KEY,
  stream text NOT NULL,
  start_time double precision NOT NULL,
  end_time double precision,
  state text NOT NULL,
  updated_at double precision NOT NULL,
  job_id text,
  doc text NOT NULL
);
CREATE INDEX kestrel_events_stream_time ON kestrel_events (stream, start_time, id);
CREATE INDEX kestrel_events_job_time ON kestrel_events (job_id, start_time, id);

CREATE TABLE kestrel_event_messages (
  seq bigserial PRIMARY KEY,
  event_id text NOT NULL,
  type text NOT NULL,
  server_ts double precision NOT NULL,
  frame_time double precision NOT NULL,
  doc text NOT NULL,
  UNIQUE (event_id, type, server_ts, frame_time)
);

-- Jobs: several nodes may run them. A node claims a job with
--   SELECT … WHERE status IN ('queued','running') AND (owner IS NULL OR lease_until < now) … FOR UPDATE SKIP LOCKED
-- and sets owner/lease_until; it renews the lease while it works. A node that dies stops renewing and
-- the job is taken over after the lease expires (it resumes from its committed checkpoint).
CREATE TABLE kestrel_jobs (
  id text COLLATE "C" PRIMARY KEY,
  status text NOT NULL,
  stream text NOT NULL,
  start_ms double precision NOT NULL,
  end_ms double precision NOT NULL,
  created_at double precision NOT NULL,
  started_at double precision,
  finished_at double precision,
  error text,
  request text NOT NULL,
  config text NOT NULL,
  fragments text,
  position integer NOT NULL DEFAULT 0,
  open text NOT NULL DEFAULT '[]',
  replay_from integer NOT NULL DEFAULT 0,
  frames_done integer NOT NULL DEFAULT 0,
  events integer NOT NULL DEFAULT 0,
  owner text,
  lease_until double precision
);
CREATE INDEX kestrel_jobs_created ON kestrel_jobs (created_at, id);
CREATE INDEX kestrel_jobs_unfinished ON kestrel_jobs (created_at, id) WHERE status IN ('queued', 'running');

CREATE TABLE kestrel_job_frames (
  seq bigserial PRIMARY KEY,
  job_id text NOT NULL,
  frame_time double precision NOT NULL,
  doc text NOT NULL
);
CREATE INDEX kestrel_job_frames_job ON kestrel_job_frames (job_id, seq);

-- Webhook outbox: one ordered lane per (target, stream). Several nodes deliver by claiming lane heads
-- (FOR UPDATE SKIP LOCKED, then claimed_by/lease_until); delivered/failed/dead-lettered ends the lease.
CREATE TABLE kestrel_webhook_outbox (
  seq bigserial PRIMARY KEY,
  target text NOT NULL,
  stream text NOT NULL,
  event_id text NOT NULL,
  body text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at double precision NOT NULL,
  last_error text,
  created_at double precision NOT NULL,
  claimed_by text,
  lease_until double precision
);
CREATE INDEX kestrel_webhook_outbox_lane ON kestrel_webhook_outbox (target, stream, seq);

CREATE TABLE kestrel_webhook_dead_letters (
  seq bigint PRIMARY KEY,
  target text NOT NULL,
  stream text NOT NULL,
  event_id text NOT NULL,
  body text NOT NULL,
  attempts integer NOT NULL,
  next_attempt_at double precision NOT NULL,
  last_error text,
  created_at double precision NOT NULL,
  dead_at double precision NOT NULL
);
CREATE INDEX kestrel_webhook_dead_letters_target ON kestrel_webhook_dead_letters (target, seq);

CREATE TABLE kestrel_detect_config (
  stream text PRIMARY KEY,
  config text NOT NULL,
  updated_at double precision NOT NULL
);

CREATE TABLE kestrel_detect_checkpoints (
  stream text PRIMARY KEY,
  doc text NOT NULL,
  updated_at double precision NOT NULL
);
