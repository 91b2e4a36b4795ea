-- What each cart's email said, kept with its send record so the console (GET /v1/emails) can
-- show it after the fact: the subject, the HTML as sent, the template and the time per stage.
-- The recipient's address stays out of what the API returns.
-- depends: 0007.image-cancel

ALTER TABLE email_sends ADD COLUMN subject text NOT NULL DEFAULT '';
ALTER TABLE email_sends ADD COLUMN html text NOT NULL DEFAULT '';
ALTER TABLE email_sends ADD COLUMN template_id text NOT NULL DEFAULT '';
ALTER TABLE email_sends ADD COLUMN stage_ms jsonb NOT NULL DEFAULT '{}';
CREATE INDEX email_sends_tenant_created ON email_sends (tenant_id, created_at DESC);
