DROP INDEX email_sends_tenant_created;
ALTER TABLE email_sends DROP COLUMN stage_ms;
ALTER TABLE email_sends DROP COLUMN template_id;
ALTER TABLE email_sends DROP COLUMN html;
ALTER TABLE email_sends DROP COLUMN subject;
