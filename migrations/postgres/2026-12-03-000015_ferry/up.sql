-- Split zones (issue 18): the nodes whose bundles and sealed epochs this node accepts, the
-- state of each ferry stream, and what was sent in which bundle. No times at all.
CREATE TABLE ferry_nodes (
    node_id TEXT PRIMARY KEY NOT NULL,
    zone TEXT NOT NULL,
    kem_public BYTEA NOT NULL,
    sign_public BYTEA NOT NULL
);

-- direction 'in': the last bundle applied from node_id; 'out': the last bundle this node
-- wrote; 'acked': the last of our bundles node_id acknowledged.
CREATE TABLE ferry_streams (
    direction TEXT NOT NULL,
    node_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (direction, node_id)
);

-- What crossed (or came across): kind tip / message / status / received / ack, the object,
-- a version (to send a change once), and the bundle it went in.
CREATE TABLE ferry_sent (
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    version TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (kind, object_id)
);
CREATE INDEX ferry_sent_seq ON ferry_sent (kind, seq);
