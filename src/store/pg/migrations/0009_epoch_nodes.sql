-- Which node owned each fencing epoch of a stream (issue 10, edge-pull). Fragment numbers carry
-- their epoch; a reader on another node asks this table which node wrote an unsealed fragment,
-- also after ownership moved on. Written in the same statement as the lease acquisition.
CREATE TABLE IF NOT EXISTS stream_epochs (
  stream_id bigint NOT NULL,
  epoch bigint NOT NULL,
  node_id text NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, epoch)
);
