-- Platform spine: tenants, idempotency records, the echo round trip.
-- depends:
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    api_key_hash text NOT NULL UNIQUE,      -- sha256 of the key; the key itself is never stored
    api_key_prefix text NOT NULL,           -- first characters, to tell keys apart in listings
    role text NOT NULL DEFAULT 'tenant' CHECK (role IN ('tenant', 'reviewer', 'admin')),
    credits bigint NOT NULL DEFAULT 0 CHECK (credits >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE processed_events (
    consumer text NOT NULL,
    event_key text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_key)
);

-- Append-only on purpose: a duplicate effect would show as a second row.
CREATE TABLE echo_log (
    id bigserial PRIMARY KEY,
    echo_id uuid NOT NULL,
    event_id uuid NOT NULL,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    message text NOT NULL,
    processed_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX echo_log_echo_id ON echo_log (echo_id);
