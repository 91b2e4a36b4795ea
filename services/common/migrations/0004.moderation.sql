-- Content moderation: submitted items, decisions (append-only audit trail), the human review
-- queue with expiring claims, and appeals.
-- depends: 0003.email

CREATE TABLE moderation_content (
    content_id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    author_id text NOT NULL,
    text text NOT NULL,
    country text NOT NULL,
    lang text NOT NULL,
    links jsonb NOT NULL DEFAULT '[]',
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'in_review', 'decided', 'appealed')),
    evidence jsonb NOT NULL DEFAULT '{}',     -- tier scores and matched rules, for reviewers
    current_decision_id uuid,
    submitted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_content_tenant ON moderation_content (tenant_id, submitted_at DESC);

-- Never updated: an appeal's outcome is a new row that supersedes the original.
CREATE TABLE moderation_decisions (
    decision_id uuid PRIMARY KEY,
    content_id uuid NOT NULL REFERENCES moderation_content(content_id),
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    decision text NOT NULL CHECK (decision IN ('approve', 'reject')),
    tier text NOT NULL CHECK (tier IN ('rules', 'classifier', 'judge', 'human', 'appeal')),
    reasons jsonb NOT NULL,
    event jsonb NOT NULL,                     -- the published ModerationDecided, as published
    policy_version text NOT NULL,
    country text NOT NULL,
    decided_by text NOT NULL,
    supersedes uuid REFERENCES moderation_decisions(decision_id),
    decided_at timestamptz NOT NULL DEFAULT now()
);
-- Exactly one original decision per item, and one outcome per appeal: redelivered events and
-- racing tiers cannot add a second.
CREATE UNIQUE INDEX moderation_one_decision ON moderation_decisions (content_id) WHERE supersedes IS NULL;
CREATE UNIQUE INDEX moderation_one_appeal_outcome ON moderation_decisions (supersedes) WHERE supersedes IS NOT NULL;

CREATE TABLE moderation_review (
    content_id uuid NOT NULL REFERENCES moderation_content(content_id),
    lane text NOT NULL CHECK (lane IN ('review', 'appeal')),
    reason text NOT NULL,
    enqueued_at timestamptz NOT NULL DEFAULT now(),
    claimed_by uuid REFERENCES tenants(id),
    claim_expires_at timestamptz,
    decided_at timestamptz,
    PRIMARY KEY (content_id, lane)
);
CREATE INDEX moderation_review_open ON moderation_review (lane, enqueued_at) WHERE decided_at IS NULL;

CREATE TABLE moderation_appeals (
    content_id uuid PRIMARY KEY REFERENCES moderation_content(content_id),
    appealed_decision_id uuid NOT NULL REFERENCES moderation_decisions(decision_id),
    reason text NOT NULL,
    appealed_at timestamptz NOT NULL DEFAULT now()
);
