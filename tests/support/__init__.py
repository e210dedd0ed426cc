"""Test helpers shared by several suites (e.g. a throw-away PostgreSQL 15 cluster)."""
