-- A received message whose effect is applied later, by a task of its own
-- (a large hit-query batch: matching it takes longer than the sender waits
-- for the acknowledgement). The row is stored and acknowledged at once with
-- pending = 1; the answer clears it in the transaction that enqueues the
-- reply, and a node that stopped in between answers the pending rows when it
-- starts again.
ALTER TABLE fed_inbox ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;

CREATE INDEX fed_inbox_pending ON fed_inbox (received_at) WHERE pending = 1;
