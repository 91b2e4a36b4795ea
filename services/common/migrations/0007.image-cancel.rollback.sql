UPDATE image_jobs SET status = 'failed', reason = coalesce(reason, 'cancelled') WHERE status = 'cancelled';
ALTER TABLE image_jobs DROP CONSTRAINT image_jobs_status_check;
ALTER TABLE image_jobs ADD CONSTRAINT image_jobs_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'rejected'));
ALTER TABLE image_jobs DROP COLUMN cancel_requested_at;
