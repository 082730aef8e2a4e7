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
-- covers, kept as text byte for byte (not jsonb, which would rewrite it).
-- A delivery outlives its webhook (no foreign key): its history stays
-- readable.
--
-- Times NULL when none.

-- +goose Up
CREATE TABLE push_subscriptions (
    id            text        NOT NULL PRIMARY KEY,
    shipment_id   text        NOT NULL,
    tracking_code text        NOT NULL DEFAULT '',
    endpoint      text        NOT NULL,
    p256dh        text        NOT NULL DEFAULT '',
    auth          text        NOT NULL DEFAULT '',
    language      text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    UNIQUE (shipment_id, endpoint)
);
CREATE INDEX push_subscriptions_shipment_idx ON push_subscriptions (shipment_id, created_at);

CREATE TABLE webhooks (
    id              text        NOT NULL PRIMARY KEY,
    retailer_id     text        NOT NULL,
    url             text        NOT NULL,
    events          jsonb       NOT NULL DEFAULT '[]',
    secret          text        NOT NULL,
    previous_secret text        NOT NULL DEFAULT '',
    previous_until  timestamptz,
    contact_email   text        NOT NULL DEFAULT '',
    failing_since   timestamptz,
    disabled_at     timestamptz,
    disabled_reason text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX webhooks_retailer_idx ON webhooks (retailer_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id              text        NOT NULL PRIMARY KEY,
    webhook_id      text        NOT NULL,
    retailer_id     text        NOT NULL,
    shipment_id     text        NOT NULL DEFAULT '',
    event           text        NOT NULL,
    sequence        integer     NOT NULL DEFAULT 0,
    payload         text        NOT NULL,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    response_code   integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at DESC, id DESC);

-- GET /v1/notifications?shipment_id=…: a parcel's messages.
CREATE INDEX outbox_shipment_idx ON outbox (shipment_id, id);

-- +goose Down
DROP INDEX outbox_shipment_idx;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE push_subscriptions;
