CREATE TABLE "file_contents" (
	"hash" text PRIMARY KEY NOT NULL,
	"size_bytes" bigint NOT NULL,
	"content" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "file_contents_hash_shape" CHECK ("file_contents"."hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "read_receipts" (
	"conversation_id" uuid NOT NULL,
	"device_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"read_seq" bigint NOT NULL,
	"read_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "read_receipts_conversation_id_device_id_pk" PRIMARY KEY("conversation_id","device_id")
);
--> statement-breakpoint
CREATE TABLE "sync_files" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"path" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"content_hash" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"deleted" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by_device_id" uuid
);
--> statement-breakpoint
DROP INDEX "messages_conversation_created_idx";--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "creator_device_id" uuid;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "client_id" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "edited_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "creator_device_id" uuid;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "client_id" text;--> statement-breakpoint
ALTER TABLE "read_receipts" ADD CONSTRAINT "read_receipts_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "read_receipts" ADD CONSTRAINT "read_receipts_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "read_receipts" ADD CONSTRAINT "read_receipts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_files" ADD CONSTRAINT "sync_files_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_files" ADD CONSTRAINT "sync_files_content_hash_file_contents_hash_fk" FOREIGN KEY ("content_hash") REFERENCES "public"."file_contents"("hash") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_files" ADD CONSTRAINT "sync_files_updated_by_device_id_devices_id_fk" FOREIGN KEY ("updated_by_device_id") REFERENCES "public"."devices"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "sync_files_live_path_uidx" ON "sync_files" USING btree ("workspace_id","path") WHERE NOT "sync_files"."deleted";--> statement-breakpoint
CREATE INDEX "sync_files_workspace_idx" ON "sync_files" USING btree ("workspace_id");--> statement-breakpoint
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_creator_device_id_devices_id_fk" FOREIGN KEY ("creator_device_id") REFERENCES "public"."devices"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_creator_device_id_devices_id_fk" FOREIGN KEY ("creator_device_id") REFERENCES "public"."devices"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "conversations_creator_client_uidx" ON "conversations" USING btree ("creator_device_id","client_id");--> statement-breakpoint
-- Messages written before this migration get the seq of their message.created change; those
-- whose change retention already removed are numbered below 1, oldest lowest, per conversation.
UPDATE "messages" m SET "seq" = c."seq"
FROM "change_log" c
WHERE c."stream" = 'conversation:' || m."conversation_id" AND c."entity_id" = m."id"
  AND c."kind" = 'message.created';--> statement-breakpoint
UPDATE "messages" m SET "seq" = n."seq"
FROM (
  SELECT "id", 1 - row_number() OVER (PARTITION BY "conversation_id" ORDER BY "created_at" DESC, "id" DESC) AS "seq"
  FROM "messages" WHERE "seq" = 0
) n
WHERE m."id" = n."id";--> statement-breakpoint
CREATE UNIQUE INDEX "messages_conversation_seq_uidx" ON "messages" USING btree ("conversation_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "workspaces_creator_client_uidx" ON "workspaces" USING btree ("creator_device_id","client_id");--> statement-breakpoint
-- A message's seq lives on its row (history pages by it, and it outlives the change log's
-- retention). The hot path's capture moves to two triggers:
--   BEFORE INSERT numbers the row: it bumps the stream's head (taking its row lock until commit,
--   as before) and sets NEW.seq. A row that an ON CONFLICT (device_id, client_id) DO NOTHING
--   would skip is skipped here instead, before the head moves, so a retried send leaves no gap:
--   an advisory lock on (device, client id) orders two concurrent sends of one client id, and
--   the second sees the first's row once the first commits.
--   AFTER INSERT appends the change with that seq (after every constraint passed).
-- Whatever seq a writer gives is replaced.
CREATE FUNCTION ccs_number_message()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_stream text := 'conversation:' || NEW.conversation_id;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(NEW.device_id::text || '/' || NEW.client_id, 0));
  IF EXISTS (SELECT 1 FROM messages WHERE device_id = NEW.device_id AND client_id = NEW.client_id) THEN
    RETURN NULL;
  END IF;
  UPDATE stream_heads SET head = head + 1 WHERE stream = v_stream RETURNING head INTO NEW.seq;
  IF NOT FOUND THEN
    INSERT INTO stream_heads AS h (stream, head) VALUES (v_stream, 1)
    ON CONFLICT (stream) DO UPDATE SET head = h.head + 1
    RETURNING h.head INTO NEW.seq;
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ccs_capture_message_created()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO change_log (stream, seq, kind, entity_id, payload)
  VALUES ('conversation:' || NEW.conversation_id, NEW.seq, 'message.created', NEW.id, to_jsonb(NEW));
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER messages_number BEFORE INSERT ON messages
FOR EACH ROW EXECUTE FUNCTION ccs_number_message();
--> statement-breakpoint
CREATE TRIGGER read_receipts_capture AFTER INSERT OR UPDATE OR DELETE ON read_receipts
FOR EACH ROW EXECUTE FUNCTION ccs_capture_row('read_receipt', 'conversation:conversation_id');
--> statement-breakpoint
CREATE TRIGGER sync_files_capture AFTER INSERT OR UPDATE OR DELETE ON sync_files
FOR EACH ROW EXECUTE FUNCTION ccs_capture_row('sync_file', 'workspace:workspace_id');
