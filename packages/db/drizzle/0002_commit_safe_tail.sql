ALTER TABLE "change_log" RENAME COLUMN "committed_at" TO "written_at";--> statement-breakpoint
DROP INDEX "change_log_committed_at_idx";--> statement-breakpoint
CREATE INDEX "change_log_written_at_idx" ON "change_log" USING brin ("written_at");--> statement-breakpoint
CREATE INDEX "change_log_xid_idx" ON "change_log" USING btree ("xid");--> statement-breakpoint
-- Capture without NOTIFY. NOTIFY takes a cluster-wide lock at every commit that notified and
-- holds it through the WAL flush, so every writer of every stream waited for every other one.
-- Relays now find committed changes by reading change_log (see ccs_committed_changes), and the
-- only lock a writer takes is its streams' head rows: writers of different streams commit in
-- parallel. The payload is the row as to_jsonb writes it (snake_case keys); the relay maps it to
-- the wire shape, so the writer does no per-key work. Heads are bumped with UPDATE first (the
-- common case) and inserted only for a stream's first change.
--
-- ccs_capture_row(): AFTER INSERT OR UPDATE OR DELETE … FOR EACH ROW trigger.
--   TG_ARGV[0]   entity name, e.g. 'message' (kind becomes 'message.created' …)
--   TG_ARGV[1..] '<stream kind>:<column>' for each stream the row belongs to, e.g.
--                'conversation:conversation_id'; a NULL column means "not in that stream".
-- An update that changes nothing is not a change. A row moved out of a stream by an update
-- (its column changed) is a '.deleted' there (with the old row) and an '.updated' in its new one.
-- List a row's streams in alphabetical order of kind (conversation < user < workspace): every
-- writer then takes stream_heads locks in one order, as retention does, which avoids deadlocks.
CREATE OR REPLACE FUNCTION ccs_capture_row()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_row jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
  v_old jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
  v_kind text := TG_ARGV[0] || '.' ||
    CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END;
  v_entity_id uuid := (v_row ->> 'id')::uuid;
  v_streams text[] := '{}';
  v_kinds text[] := '{}';
  v_payloads jsonb[] := '{}';
  v_stream_kind text;
  v_column text;
  v_id text;
  v_old_id text;
  v_seq bigint;
BEGIN
  IF TG_OP = 'UPDATE' AND v_row = v_old THEN
    RETURN NULL;
  END IF;
  FOR i IN 1 .. TG_NARGS - 1 LOOP
    v_stream_kind := split_part(TG_ARGV[i], ':', 1);
    v_column := split_part(TG_ARGV[i], ':', 2);
    v_id := v_row ->> v_column;
    IF v_id IS NOT NULL THEN
      v_streams := v_streams || (v_stream_kind || ':' || v_id);
      v_kinds := v_kinds || v_kind;
      v_payloads := v_payloads || v_row;
    END IF;
    IF TG_OP = 'UPDATE' THEN
      v_old_id := v_old ->> v_column;
      IF v_old_id IS NOT NULL AND v_old_id IS DISTINCT FROM v_id THEN
        v_streams := v_streams || (v_stream_kind || ':' || v_old_id);
        v_kinds := v_kinds || (TG_ARGV[0] || '.deleted');
        v_payloads := v_payloads || v_old;
      END IF;
    END IF;
  END LOOP;
  FOR i IN 1 .. coalesce(array_length(v_streams, 1), 0) LOOP
    -- The head row's lock is held until commit: a second writer of the stream waits here, so
    -- seq is dense and follows commit order.
    UPDATE stream_heads SET head = head + 1 WHERE stream = v_streams[i] RETURNING head INTO v_seq;
    IF NOT FOUND THEN
      INSERT INTO stream_heads AS h (stream, head) VALUES (v_streams[i], 1)
      ON CONFLICT (stream) DO UPDATE SET head = h.head + 1
      RETURNING h.head INTO v_seq;
    END IF;
    INSERT INTO change_log (stream, seq, kind, entity_id, payload)
    VALUES (v_streams[i], v_seq, v_kinds[i], v_entity_id, v_payloads[i]);
  END LOOP;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
DROP FUNCTION ccs_append_change(text, text, uuid, jsonb);
--> statement-breakpoint
DROP FUNCTION ccs_wire_row(jsonb);
--> statement-breakpoint
-- ccs_commit_time(p_xid, p_written_at) → when the transaction p_xid committed
--   p_xid         the writing transaction (change_log.xid)
--   p_written_at  change_log.written_at, returned where PostgreSQL does not know the commit time
-- PostgreSQL keeps commit times only with track_commit_timestamp = on (a server setting that
-- needs a restart); for transactions from before it was turned on it knows none either.
CREATE FUNCTION ccs_commit_time(p_xid xid8, p_written_at timestamptz)
RETURNS timestamptz
LANGUAGE sql
STABLE
AS $$
  SELECT CASE
    WHEN current_setting('track_commit_timestamp')::boolean
      THEN coalesce(pg_xact_commit_timestamp(xid(p_xid)), p_written_at)
    ELSE p_written_at
  END;
$$;
--> statement-breakpoint
-- ccs_committed_changes(p_pending, p_frontier, p_cut_xids, p_cut_streams, p_cut_seqs, p_limit)
--   → the statement's snapshot, and up to p_limit changes committed since the caller's last read,
--     in (xid, stream, seq) order
--   p_pending     transactions that were still running at the last read (its snapshot's xip)
--   p_frontier    the last read's snapshot xmax: every transaction below it, except p_pending,
--                 had finished then, and its changes were read
--   p_cut_*       committed transactions that reads cut by p_limit left half read (parallel
--                 arrays): of transaction p_cut_xids[i], the changes up to (p_cut_streams[i],
--                 p_cut_seqs[i]) were read already
-- A change is read once its transaction is visible in the statement's snapshot (committed), so
-- a transaction that took its xid early and commits late is read when it commits, never skipped,
-- and never holds back the changes of others. The caller moves its position to the returned
-- snapshot (xmax and xip) when fewer than p_limit rows came back. The relay never trusts a
-- wake-up for data: this read alone decides what is delivered. The two index scans (new
-- transactions, then finished pending ones) are a UNION ALL: an OR of both would scan the whole
-- xid index. The sets are disjoint: every pending xid is below p_frontier.
CREATE FUNCTION ccs_committed_changes(
  p_pending xid8[], p_frontier xid8, p_cut_xids xid8[], p_cut_streams text[], p_cut_seqs bigint[],
  p_limit integer
)
RETURNS TABLE (
  snapshot text, xid xid8, stream text, seq bigint, kind text, payload jsonb,
  written_ms double precision, committed_ms double precision
)
LANGUAGE plpgsql
STABLE
-- Relays call this hundreds of times a second: one cached plan, never replanned per call (a
-- custom plan cost 0.4 ms of planning, more than the read), and never a scan of the whole log,
-- whatever the generic plan estimates for a parameter it cannot see.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET max_parallel_workers_per_gather = 0
AS $$
BEGIN
  RETURN QUERY
  WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
  candidates AS (
    SELECT l.* FROM change_log l, snap
    WHERE l.xid >= p_frontier AND pg_visible_in_snapshot(l.xid, snap.s)
    UNION ALL
    -- Only the pending transactions that have finished: the rows of one still running would be
    -- fetched (and found invisible) on every read.
    SELECT l.* FROM change_log l
    WHERE l.xid = ANY (ARRAY(
      SELECT x FROM unnest(p_pending) AS x, snap WHERE pg_visible_in_snapshot(x, snap.s)
    ))
  ),
  batch AS (
    SELECT * FROM candidates c
    WHERE NOT EXISTS (
      SELECT 1 FROM unnest(p_cut_xids, p_cut_streams, p_cut_seqs) AS cut(xid, stream, seq)
      WHERE cut.xid = c.xid AND (c.stream, c.seq) <= (cut.stream, cut.seq)
    )
    ORDER BY c.xid, c.stream, c.seq
    LIMIT p_limit
  )
  SELECT snap.s::text, b.xid, b.stream, b.seq, b.kind, b.payload,
         extract(epoch FROM b.written_at)::double precision * 1000,
         extract(epoch FROM ccs_commit_time(b.xid, b.written_at))::double precision * 1000
  FROM snap LEFT JOIN batch b ON true;
END;
$$;
--> statement-breakpoint
-- ccs_stream_changes(p_stream, p_after, p_limit) → up to p_limit changes of p_stream with
--   seq > p_after, in seq order, in the row shape of ccs_committed_changes (replays)
CREATE FUNCTION ccs_stream_changes(p_stream text, p_after bigint, p_limit integer)
RETURNS TABLE (
  stream text, seq bigint, kind text, payload jsonb,
  written_ms double precision, committed_ms double precision
)
LANGUAGE sql
STABLE
AS $$
  SELECT l.stream, l.seq, l.kind, l.payload,
         extract(epoch FROM l.written_at)::double precision * 1000,
         extract(epoch FROM ccs_commit_time(l.xid, l.written_at))::double precision * 1000
  FROM change_log l
  WHERE l.stream = p_stream AND l.seq > p_after
  ORDER BY l.seq
  LIMIT p_limit;
$$;
--> statement-breakpoint
-- ccs_trim_change_log(p_before, p_batch) → rows deleted
--   p_before  changes written before this time are removed
--   p_batch   at most this many rows per call (call again while it returns p_batch)
-- Records per stream the highest seq removed (stream_heads.trimmed_to) so that a subscriber
-- resuming from an older seq is told to resync instead of silently missing changes.
CREATE OR REPLACE FUNCTION ccs_trim_change_log(p_before timestamptz, p_batch integer)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  v_streams text[];
  v_trimmed bigint[];
  v_count integer;
BEGIN
  -- Oldest first; within a stream written_at follows seq (the head lock is held from the write
  -- to the commit), so a stream is trimmed from its start.
  WITH doomed AS (
    SELECT stream, seq FROM change_log
    WHERE written_at < p_before
    ORDER BY written_at, stream, seq
    LIMIT p_batch
  ), deleted AS (
    DELETE FROM change_log c USING doomed d
    WHERE c.stream = d.stream AND c.seq = d.seq
    RETURNING c.stream, c.seq
  )
  SELECT array_agg(stream ORDER BY stream), array_agg(trimmed ORDER BY stream), coalesce(sum(n), 0)
  INTO v_streams, v_trimmed, v_count
  FROM (SELECT stream, max(seq) AS trimmed, count(*) AS n FROM deleted GROUP BY stream) per_stream;

  IF v_count > 0 THEN
    -- Lock the heads in stream order (as writers do) before moving trimmed_to.
    PERFORM 1 FROM stream_heads WHERE stream = ANY(v_streams) ORDER BY stream FOR UPDATE;
    UPDATE stream_heads h SET trimmed_to = greatest(h.trimmed_to, t.trimmed)
    FROM unnest(v_streams, v_trimmed) AS t(stream, trimmed)
    WHERE h.stream = t.stream;
  END IF;
  RETURN v_count;
END;
$$;
