-- Web Push subscriptions and retailers' webhooks (issue #21).
--
-- push_subscriptions: a browser's or an app's Web Push subscription to one
-- parcel's notices (lokero.PushSubscription), one per parcel and endpoint.
--
-- webhooks: a retailer's endpoint told of its shipments' events
-- (lokero.Webhook); events is a JSON array of event types ('[]': every
-- one). previous_until, failing_since and disabled_at are NULL when none.
--
-- webhook_deliveries: one event on its way to one webhook
-- (lokero.WebhookDelivery). payload is the exact JSON body its signature
-- covers, kept as text byte for byte. A delivery outlives its webhook (no
-- foreign key): its history stays readable.
--
-- Times are UTC text as in 00001, NULL when none.

-- +goose Up
CREATE TABLE push_subscriptions (
    id            TEXT NOT NULL PRIMARY KEY,
    shipment_id   TEXT NOT NULL,
    tracking_code TEXT NOT NULL DEFAULT '',
    endpoint      TEXT NOT NULL,
    p256dh        TEXT NOT NULL DEFAULT '',
    auth          TEXT NOT NULL DEFAULT '',
    language      TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    UNIQUE (shipment_id, endpoint)
);
CREATE INDEX push_subscriptions_shipment_idx ON push_subscriptions (shipment_id, created_at);

CREATE TABLE webhooks (
    id              TEXT NOT NULL PRIMARY KEY,
    retailer_id     TEXT NOT NULL,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(events)),
    secret          TEXT NOT NULL,
    previous_secret TEXT NOT NULL DEFAULT '',
    previous_until  TEXT,
    contact_email   TEXT NOT NULL DEFAULT '',
    failing_since   TEXT,
    disabled_at     TEXT,
    disabled_reason TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX webhooks_retailer_idx ON webhooks (retailer_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id              TEXT    NOT NULL PRIMARY KEY,
    webhook_id      TEXT    NOT NULL,
    retailer_id     TEXT    NOT NULL,
    shipment_id     TEXT    NOT NULL DEFAULT '',
    event           TEXT    NOT NULL,
    sequence        INTEGER NOT NULL DEFAULT 0,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    response_code   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at TEXT,
    created_at      TEXT    NOT NULL,
    delivered_at    TEXT
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at DESC, id DESC);

-- GET /v1/notifications?shipment_id=…: a parcel's messages.
CREATE INDEX outbox_shipment_idx ON outbox (shipment_id, id);

-- +goose Down
DROP INDEX outbox_shipment_idx;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE push_subscriptions;
