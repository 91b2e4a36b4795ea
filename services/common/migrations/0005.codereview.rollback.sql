DROP TABLE github_deliveries;
