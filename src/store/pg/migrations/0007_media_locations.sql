-- Media on S3 (src/sealing/README.md): a fragment whose bytes are in a sealed object records the
-- object key and its offset there; segment-based queries (committedEnds, deleteBeyond) and the
-- sealer's lookup (localFragmentsInSegment) only consider rows with object_key IS NULL.
-- IF EXISTS: this branch may be applied before the core index schema exists (0002), where it is a no-op.
ALTER TABLE IF EXISTS fragments ADD COLUMN IF NOT EXISTS object_key text;
ALTER TABLE IF EXISTS fragments ADD COLUMN IF NOT EXISTS object_offset bigint;
DO $$ BEGIN
  IF to_regclass('fragments') IS NOT NULL THEN
    CREATE INDEX IF NOT EXISTS fragments_local_by_segment ON fragments (stream_id, segment) WHERE object_key IS NULL;
  END IF;
END $$;
