-- Ids of records an admin deleted. A visitor's outbox may retry a submission after it was
-- deleted: the retry finds its tombstone here, is acknowledged as a duplicate, and nothing is
-- stored again. Nothing the visitor wrote is kept: only the id, when the record was first
-- received (retention purges the tombstone when it would have purged the record) and when it
-- was deleted.
CREATE TABLE feedback_tombstone (
    id TEXT PRIMARY KEY,
    received_ms BIGINT NOT NULL,
    deleted_ms BIGINT NOT NULL
);

CREATE INDEX feedback_tombstone_received ON feedback_tombstone (received_ms);
