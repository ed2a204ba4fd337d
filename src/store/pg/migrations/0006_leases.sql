-- Stream ownership (issue 10 item 3): one lease per stream, the nodes' heartbeats, and the fence
-- check every fragment insert runs in its own transaction.
CREATE TABLE IF NOT EXISTS stream_leases (
  stream_id bigint PRIMARY KEY,
  node_id text NOT NULL,
  -- Fencing token: increases on every acquisition; fragment numbers carry it. Rows are never
  -- deleted while the stream exists, so a new owner always continues above the last epoch.
  epoch bigint NOT NULL CHECK (epoch > 0),
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS stream_leases_by_node ON stream_leases (node_id);

CREATE TABLE IF NOT EXISTS cluster_nodes (
  node_id text PRIMARY KEY,
  public_url text NOT NULL,
  ingest_bytes_per_sec double precision NOT NULL DEFAULT 0,
  heartbeat_at timestamptz NOT NULL
);

-- Call inside the transaction that inserts a fragment row, before the INSERT:
--   SELECT kestrel_check_fence($stream_id, $node_id, $epoch);
-- FOR SHARE holds the lease row until commit, so a takeover (an UPDATE of the row) waits for the
-- insert, and an insert after a takeover sees the new epoch and fails with SQLSTATE KS409.
CREATE OR REPLACE FUNCTION kestrel_check_fence(p_stream_id bigint, p_node_id text, p_epoch bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM stream_leases WHERE stream_id = p_stream_id AND node_id = p_node_id AND epoch = p_epoch FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'stream %: fencing epoch % of node % is no longer current', p_stream_id, p_epoch, p_node_id USING ERRCODE = 'KS409';
  END IF;
END
$$;

-- The fence also holds without the index's cooperation: a fragment number carries its epoch
-- (shared/fragment-number.ts: sequence = epoch << 36 | n, so epoch = (number - 2^156) >> 128), and a
-- trigger refuses a row whose epoch is not the stream's current one. Streams without a lease row
-- (imports, streams never produced into under leases) are not checked; a bulk import into a leased
-- stream runs `SET LOCAL kestrel.fence = 'off'` first.
CREATE OR REPLACE FUNCTION kestrel_fragment_epoch(fragment_number text) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$ SELECT div(fragment_number::numeric - 2::numeric ^ 156, 2::numeric ^ 128) $$;

CREATE OR REPLACE FUNCTION kestrel_fence_fragment() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  current_epoch bigint;
BEGIN
  IF current_setting('kestrel.fence', true) = 'off' THEN
    RETURN NEW;
  END IF;
  SELECT epoch INTO current_epoch FROM stream_leases WHERE stream_id = NEW.stream_id FOR SHARE;
  IF FOUND AND kestrel_fragment_epoch(NEW.fragment_number) <> current_epoch THEN
    RAISE EXCEPTION 'stream %: fragment % carries fencing epoch %, the stream is at epoch %',
      NEW.stream_id, NEW.fragment_number, kestrel_fragment_epoch(NEW.fragment_number), current_epoch USING ERRCODE = 'KS409';
  END IF;
  RETURN NEW;
END
$$;

-- Installs the trigger on a fragment table (columns stream_id, fragment_number).
CREATE OR REPLACE FUNCTION kestrel_install_fragment_fence(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS kestrel_fragment_fence ON %s', tbl);
  EXECUTE format('CREATE TRIGGER kestrel_fragment_fence BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION kestrel_fence_fragment()', tbl);
END
$$;

DO $$
BEGIN
  IF to_regclass('fragments') IS NOT NULL THEN
    PERFORM kestrel_install_fragment_fence('fragments');
  END IF;
END
$$;
