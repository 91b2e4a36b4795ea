-- Code review: GitHub webhook deliveries seen (X-GitHub-Delivery), so a redelivered webhook
-- queues nothing twice.
-- depends: 0004.moderation

CREATE TABLE github_deliveries (
    delivery_id text PRIMARY KEY,
    event text NOT NULL,
    repo text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
