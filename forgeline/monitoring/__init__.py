"""What the chart ships for operators: Grafana dashboards, generated from data."""
