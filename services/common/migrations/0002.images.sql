-- Image jobs: job records, the credit ledger, the billing transaction log.
-- depends: 0001.init

-- Tenants that opt in share prompt-cache hits with each other (never their private objects:
-- a hit is copied into the requester's own prefix).
ALTER TABLE tenants ADD COLUMN share_cache boolean NOT NULL DEFAULT false;

CREATE TABLE image_jobs (
    job_id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    idempotency_key text,
    request_hash text NOT NULL,             -- sha256 of the validated request, to refuse a reused key
    params jsonb NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'rejected')),
    reason text,
    cached boolean NOT NULL DEFAULT false,
    credits_charged bigint NOT NULL DEFAULT 0,
    object_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX image_jobs_tenant_created ON image_jobs (tenant_id, created_at DESC);

-- Every credit movement. op_key (workflow id + step) makes each activity's effect happen once.
CREATE TABLE credit_ledger (
    id bigserial PRIMARY KEY,
    op_key text NOT NULL UNIQUE,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    job_id uuid,
    delta bigint NOT NULL,
    reason text NOT NULL,
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_ledger_tenant ON credit_ledger (tenant_id, created_at);

-- The saga's "log transaction" step: one billing record per delivered image.
CREATE TABLE image_transactions (
    job_id uuid PRIMARY KEY REFERENCES image_jobs(job_id),
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    credits bigint NOT NULL,
    cached boolean NOT NULL,
    object_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
