-- The core index: streams, MKV header blocks and fragments (src/store/pg/pg-streams.ts, pg-fragments.ts).
-- Identity columns never hand an id out twice, so media and rows of a deleted stream can never be
-- mistaken for a new one's. Stream names sort bytewise (as SQLite's do) for ListStreams pages. Fragment numbers are fixed-width (47-digit) decimal strings; "C" collation
-- makes text order byte order, which for equal widths is numeric order.
CREATE TABLE streams (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                    text    COLLATE "C" NOT NULL UNIQUE,
  arn                     text    NOT NULL UNIQUE,
  version                 text    NOT NULL,
  status                  text    NOT NULL,
  creation_time_ms        bigint  NOT NULL,
  data_retention_hours    integer NOT NULL,
  media_type              text,
  device_name             text,
  kms_key_id              text    NOT NULL,
  tags                    jsonb   NOT NULL DEFAULT '{}',
  storage_tier            text    NOT NULL DEFAULT 'HOT',
  image_generation_config jsonb,
  notification_config     jsonb,
  revision                bigint  NOT NULL DEFAULT 0
);

CREATE TABLE mkv_headers (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream_id bigint NOT NULL,
  sha256    text   NOT NULL,
  bytes     bytea  NOT NULL,
  UNIQUE (stream_id, sha256)
);

CREATE TABLE fragments (
  stream_id       bigint  NOT NULL,
  fragment_number text    COLLATE "C" NOT NULL,
  producer_ts     bigint  NOT NULL,
  server_ts       bigint  NOT NULL,
  duration_ms     integer NOT NULL,
  size_bytes      bigint  NOT NULL,
  header_id       bigint  NOT NULL,
  segment         text    NOT NULL,
  byte_offset     bigint  NOT NULL,
  byte_length     bigint  NOT NULL,
  tags            jsonb,
  flags           integer NOT NULL DEFAULT 0,
  PRIMARY KEY (stream_id, fragment_number)
);
CREATE INDEX fragments_by_producer_ts ON fragments (stream_id, producer_ts);
CREATE INDEX fragments_by_server_ts ON fragments (stream_id, server_ts);
CREATE INDEX fragments_by_segment ON fragments (stream_id, segment);

-- /readyz proves the index takes a write with one upsert here.
CREATE TABLE kestrel_ready_probe (id integer PRIMARY KEY, at timestamptz NOT NULL);
