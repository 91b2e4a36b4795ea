DROP INDEX review_runs_recent;
