-- Change capture: every committed write to a synced table appends one change_log row per stream
-- the row belongs to, whoever wrote it (gateway, REST, jobs, a sibling app, psql).
--
-- ccs_append_change(p_stream, p_kind, p_entity_id, p_payload) → the change's seq
--   p_stream     stream name, '<conversation|workspace|user>:<uuid>'
--   p_kind       '<entity>.<created|updated|deleted>', e.g. 'message.created'
--   p_entity_id  the row's id, or NULL for rows keyed otherwise (memberships)
--   p_payload    the row as the wire shows it (camelCase keys)
-- The upsert on stream_heads takes the stream's row lock until commit, so a second writer of the
-- same stream waits: seq is dense and follows commit order. NOTIFY is a wake-up hint for relays
-- ('<stream> <seq>'), delivered at commit; relays never trust it for data.
CREATE FUNCTION ccs_append_change(p_stream text, p_kind text, p_entity_id uuid, p_payload jsonb)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  v_seq bigint;
BEGIN
  INSERT INTO stream_heads AS h (stream, head) VALUES (p_stream, 1)
  ON CONFLICT (stream) DO UPDATE SET head = h.head + 1
  RETURNING h.head INTO v_seq;

  INSERT INTO change_log (stream, seq, kind, entity_id, payload)
  VALUES (p_stream, v_seq, p_kind, p_entity_id, p_payload);

  PERFORM pg_notify('ccs_changes', p_stream || ' ' || v_seq);
  RETURN v_seq;
END;
$$;
--> statement-breakpoint
-- ccs_wire_row(p_row) → the row with camelCase keys ('conversation_id' → 'conversationId').
CREATE FUNCTION ccs_wire_row(p_row jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
AS $$
  SELECT coalesce(
    jsonb_object_agg(
      lower(left(key, 1)) || substr(replace(initcap(replace(key, '_', ' ')), ' ', ''), 2),
      value
    ),
    '{}'::jsonb
  )
  FROM jsonb_each(p_row);
$$;
--> statement-breakpoint
-- ccs_capture_row(): AFTER INSERT OR UPDATE OR DELETE … FOR EACH ROW trigger.
--   TG_ARGV[0]   entity name, e.g. 'message' (kind becomes 'message.created' …)
--   TG_ARGV[1..] '<stream kind>:<column>' for each stream the row belongs to, e.g.
--                'conversation:conversation_id'; a NULL column means "not in that stream".
-- An update that changes nothing is not a change. A row moved out of a stream by an update
-- (its column changed) is a '.deleted' there and an '.updated' in its new stream.
-- List a row's streams in alphabetical order of kind (conversation < user < workspace): every
-- writer then takes stream_heads locks in one order, as retention does, which avoids deadlocks.
CREATE FUNCTION ccs_capture_row()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_row jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
  v_old jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
  v_verb text := CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END;
  v_payload jsonb;
  v_entity_id uuid;
  v_kind text;
  v_column text;
  v_id text;
  v_old_id text;
BEGIN
  IF TG_OP = 'UPDATE' AND v_row = v_old THEN
    RETURN NULL;
  END IF;
  v_payload := ccs_wire_row(v_row);
  v_entity_id := (v_row ->> 'id')::uuid;
  FOR i IN 1 .. TG_NARGS - 1 LOOP
    v_kind := split_part(TG_ARGV[i], ':', 1);
    v_column := split_part(TG_ARGV[i], ':', 2);
    v_id := v_row ->> v_column;
    IF v_id IS NOT NULL THEN
      PERFORM ccs_append_change(v_kind || ':' || v_id, TG_ARGV[0] || '.' || v_verb, v_entity_id, v_payload);
    END IF;
    IF TG_OP = 'UPDATE' THEN
      v_old_id := v_old ->> v_column;
      IF v_old_id IS NOT NULL AND v_old_id IS DISTINCT FROM v_id THEN
        PERFORM ccs_append_change(
          v_kind || ':' || v_old_id, TG_ARGV[0] || '.deleted', v_entity_id, ccs_wire_row(v_old)
        );
      END IF;
    END IF;
  END LOOP;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER messages_capture AFTER INSERT OR UPDATE OR DELETE ON messages
FOR EACH ROW EXECUTE FUNCTION ccs_capture_row('message', 'conversation:conversation_id');
--> statement-breakpoint
CREATE TRIGGER conversations_capture AFTER INSERT OR UPDATE OR DELETE ON conversations
FOR EACH ROW EXECUTE FUNCTION ccs_capture_row('conversation', 'conversation:id');
--> statement-breakpoint
CREATE TRIGGER conversation_members_capture AFTER INSERT OR UPDATE OR DELETE ON conversation_members
FOR EACH ROW EXECUTE FUNCTION ccs_capture_row('conversation_member', 'conversation:conversation_id', 'user:user_id');
--> statement-breakpoint
CREATE TRIGGER users_capture AFTER INSERT OR UPDATE OR DELETE ON users
FOR EACH ROW EXECUTE FUNCTION ccs_capture_row('user', 'user:id');
--> statement-breakpoint
CREATE TRIGGER devices_capture AFTER INSERT OR UPDATE OR DELETE ON devices
FOR EACH ROW EXECUTE FUNCTION ccs_capture_row('device', 'user:user_id');
--> statement-breakpoint
CREATE TRIGGER workspaces_capture AFTER INSERT OR UPDATE OR DELETE ON workspaces
FOR EACH ROW EXECUTE FUNCTION ccs_capture_row('workspace', 'workspace:id');
--> statement-breakpoint
CREATE TRIGGER workspace_members_capture AFTER INSERT OR UPDATE OR DELETE ON workspace_members
FOR EACH ROW EXECUTE FUNCTION ccs_capture_row('workspace_member', 'user:user_id', 'workspace:workspace_id');
--> statement-breakpoint
CREATE TRIGGER files_capture AFTER INSERT OR UPDATE OR DELETE ON files
FOR EACH ROW EXECUTE FUNCTION ccs_capture_row('file', 'conversation:conversation_id', 'workspace:workspace_id');
--> statement-breakpoint
-- ccs_trim_change_log(p_before, p_batch) → rows deleted
--   p_before  changes committed before this time are removed
--   p_batch   at most this many rows per call (call again while it returns p_batch)
-- Records per stream the highest seq removed (stream_heads.trimmed_to) so that a subscriber
-- resuming from an older seq is told to resync instead of silently missing changes.
CREATE FUNCTION ccs_trim_change_log(p_before timestamptz, p_batch integer)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  v_streams text[];
  v_trimmed bigint[];
  v_count integer;
BEGIN
  -- Oldest first, and within one commit time in seq order, so a stream is trimmed from its start.
  WITH doomed AS (
    SELECT stream, seq FROM change_log
    WHERE committed_at < p_before
    ORDER BY committed_at, stream, seq
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
