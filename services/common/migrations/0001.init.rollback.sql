DROP TABLE echo_log;
DROP TABLE processed_events;
DROP TABLE tenants;
