-- Change capture: every committed write to a synced table appends one change_log row per stream
-- it belongs to, whoever wrote it (gateway, REST, jobs, a sibling app, psql).
--
-- ccs_append_change(p_stream, p_kind, p_entity_id, p_payload) → the change's seq
--   p_stream     stream name, '<conversation|workspace|user>:<uuid>'
--   p_kind       '<table>.<verb>', e.g. 'message.created'
--   p_entity_id  primary key of the changed row
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
CREATE FUNCTION ccs_capture_message_insert()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM ccs_append_change(
    'conversation:' || NEW.conversation_id,
    'message.created',
    NEW.id,
    jsonb_build_object(
      'id', NEW.id,
      'conversationId', NEW.conversation_id,
      'authorId', NEW.author_id,
      'deviceId', NEW.device_id,
      'clientId', NEW.client_id,
      'body', NEW.body,
      'createdAt', NEW.created_at
    )
  );
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER messages_capture_insert
AFTER INSERT ON messages
FOR EACH ROW EXECUTE FUNCTION ccs_capture_message_insert();
