"""The Forgeline operator CLI: local stack supervisor, tenants, demos, traces, benchmarks."""
