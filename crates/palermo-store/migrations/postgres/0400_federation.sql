-- Federation (palermo-federation): the persistent outbox and inbox of signed
-- envelopes, and the tree heads of peers this node has countersigned.
-- Times are milliseconds since the Unix epoch.

-- Outgoing messages, written in the same transaction as the change that caused them.
CREATE TABLE fed_outbox (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    envelope BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    delivered_at BIGINT,
    failed_at BIGINT,
    ledgered BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX fed_outbox_pending ON fed_outbox (recipient, next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX fed_outbox_unledgered ON fed_outbox (created_at)
    WHERE ledgered = 0 AND (delivered_at IS NOT NULL OR failed_at IS NOT NULL);

-- Received messages, keyed by message id: a redelivered id is not applied again.
CREATE TABLE fed_inbox (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    kind TEXT NOT NULL,
    envelope BYTEA NOT NULL,
    received_at BIGINT NOT NULL,
    result TEXT NOT NULL,
    ledgered BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX fed_inbox_received ON fed_inbox (received_at);
CREATE INDEX fed_inbox_unledgered ON fed_inbox (received_at) WHERE ledgered = 0;

-- Signed tree heads of peers, with this node's cosignature (JSON).
CREATE TABLE fed_peer_heads (
    peer TEXT NOT NULL,
    size BIGINT NOT NULL,
    root TEXT NOT NULL,
    head TEXT NOT NULL,
    cosignature TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (peer, size)
);
