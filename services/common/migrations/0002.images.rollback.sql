DROP TABLE image_transactions;
DROP TABLE credit_ledger;
DROP TABLE image_jobs;
ALTER TABLE tenants DROP COLUMN share_cache;
