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
