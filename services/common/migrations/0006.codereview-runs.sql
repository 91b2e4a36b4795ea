-- Code review runs: one per pull request head SHA. The orchestrator stores the plan and the
-- changed files; agents' reports arrive one per (run, agent); the publisher records the one
-- review it posted. Findings that were posted are kept for the feedback statistics.
-- depends: 0005.codereview

CREATE TABLE review_runs (
    repo text NOT NULL,
    number integer NOT NULL,
    head_sha text NOT NULL,
    base_sha text NOT NULL,
    title text NOT NULL DEFAULT '',
    author text NOT NULL DEFAULT '',
    plan jsonb NOT NULL,
    agents text[] NOT NULL,
    status text NOT NULL DEFAULT 'collecting' CHECK (status IN ('collecting', 'ready', 'posted')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    deadline_at timestamptz NOT NULL,
    ready_at timestamptz,
    announcements integer NOT NULL DEFAULT 0,  -- re-announcements of a ready run nobody posted
    posted_at timestamptz,
    review_id bigint,
    review_event text,
    PRIMARY KEY (repo, number, head_sha)
);
CREATE INDEX review_runs_waiting ON review_runs (deadline_at) WHERE status <> 'posted';

CREATE TABLE review_files (
    repo text NOT NULL,
    number integer NOT NULL,
    head_sha text NOT NULL,
    path text NOT NULL,
    status text NOT NULL,
    patch text,
    content text,
    PRIMARY KEY (repo, number, head_sha, path),
    FOREIGN KEY (repo, number, head_sha) REFERENCES review_runs ON DELETE CASCADE
);

CREATE TABLE review_reports (
    repo text NOT NULL,
    number integer NOT NULL,
    head_sha text NOT NULL,
    agent text NOT NULL,
    findings jsonb NOT NULL,
    seconds real NOT NULL,
    tokens_used integer NOT NULL DEFAULT 0,
    error text,
    reported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repo, number, head_sha, agent),
    FOREIGN KEY (repo, number, head_sha) REFERENCES review_runs ON DELETE CASCADE
);

CREATE TABLE review_findings (
    repo text NOT NULL,
    number integer NOT NULL,
    head_sha text NOT NULL,
    path text NOT NULL,
    line integer NOT NULL,
    rule text NOT NULL,
    severity text NOT NULL,
    agents text[] NOT NULL,
    addressed_sha text,
    addressed_at timestamptz,
    PRIMARY KEY (repo, number, head_sha, path, line, rule),
    FOREIGN KEY (repo, number, head_sha) REFERENCES review_runs ON DELETE CASCADE
);
CREATE INDEX review_findings_open ON review_findings (repo, number) WHERE addressed_sha IS NULL;
