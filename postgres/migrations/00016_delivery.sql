-- Delivery of the outbox (issue #20): each message is sent by a job queued
-- with it, and records here how that went (lokero.OutboxMessage): its
-- state (queued, sent, failed, local), the tries made, the last error, the
-- provider's id of the accepted message, when it was sent, the latest
-- delivery report (an SMS gateway's DLR) and when any of these last
-- changed. Times NULL when none.
--
-- The messages queued before this migration had no delivery job: they
-- become 'local' (kept for the local outbox viewer), so that an upgrade
-- never sends a backlog of old notices.

-- +goose Up
ALTER TABLE outbox ADD COLUMN state text NOT NULL DEFAULT 'queued'
    CHECK (state IN ('queued', 'sent', 'failed', 'local'));
ALTER TABLE outbox ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0);
ALTER TABLE outbox ADD COLUMN last_error text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN provider_id text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN sent_at timestamptz;
ALTER TABLE outbox ADD COLUMN report text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN updated_at timestamptz;

UPDATE outbox SET state = 'local';

-- GET /v1/notifications?state=…: newest first within a state.
CREATE INDEX outbox_state_idx ON outbox (state, id);

-- +goose Down
DROP INDEX outbox_state_idx;
ALTER TABLE outbox DROP COLUMN updated_at;
ALTER TABLE outbox DROP COLUMN report;
ALTER TABLE outbox DROP COLUMN sent_at;
ALTER TABLE outbox DROP COLUMN provider_id;
ALTER TABLE outbox DROP COLUMN last_error;
ALTER TABLE outbox DROP COLUMN attempts;
ALTER TABLE outbox DROP COLUMN state;
