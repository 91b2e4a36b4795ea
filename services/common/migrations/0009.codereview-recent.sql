-- The latest review runs first (GET /v1/code-reviews).
-- depends: 0008.email-content

CREATE INDEX review_runs_recent ON review_runs (requested_at DESC);
