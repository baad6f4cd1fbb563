-- One table for both kinds of feedback. Portable SQL: the same file runs on SQLite and
-- PostgreSQL, so only BIGINT, DOUBLE PRECISION and TEXT are used (the sqlx `Any` driver
-- decodes exactly these the same way on both).
CREATE TABLE feedback (
    -- The client's idempotency key (a UUID): a retried submission finds its first row here.
    id TEXT PRIMARY KEY,
    received_ms BIGINT NOT NULL,
    -- 'result' (thumbs on one answer) or 'visit' (the three ratings).
    kind TEXT NOT NULL,
    model TEXT,
    verdict TEXT,
    predicted TEXT,
    corrected TEXT,
    input_text TEXT,
    speed BIGINT,
    stability BIGINT,
    usability BIGINT,
    comment TEXT,
    email TEXT,
    backend TEXT,
    latency_ms DOUBLE PRECISION,
    device TEXT,
    -- SHA-256 of the canonical submission: tells a true retry from a different body reusing a key.
    body_sha256 TEXT NOT NULL
);

CREATE INDEX feedback_received ON feedback (received_ms);
