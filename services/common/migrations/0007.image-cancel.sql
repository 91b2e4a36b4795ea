-- Image jobs can be cancelled by their tenant (DELETE /v1/images/{job_id}). The request is
-- recorded on the job first, so a saga that has not charged yet refuses to (the charge step
-- reads it under the row lock the cancel takes), and a cancel that reaches the imagegen
-- consumer before the saga exists is not lost.
-- depends: 0006.codereview-runs

ALTER TABLE image_jobs ADD COLUMN cancel_requested_at timestamptz;
ALTER TABLE image_jobs DROP CONSTRAINT image_jobs_status_check;
ALTER TABLE image_jobs ADD CONSTRAINT image_jobs_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'rejected', 'cancelled'));
