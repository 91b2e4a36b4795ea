DROP TABLE review_findings;
DROP TABLE review_reports;
DROP TABLE review_files;
DROP TABLE review_runs;
