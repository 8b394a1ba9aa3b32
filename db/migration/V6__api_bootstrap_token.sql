-- REST authentication (issue #5): the bootstrap admin token, created at the first start when no API
-- tokens are configured. Only its SHA-256 is stored (the plaintext is written once to a file, see
-- docs/api.md); one row at most, shared by every instance on this database.
CREATE TABLE api_bootstrap_token (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    name         text        NOT NULL,
    token_sha256 bytea       NOT NULL CHECK (octet_length(token_sha256) = 32),
    created_at   timestamptz NOT NULL DEFAULT now()
);
