"""Persistence: SQLite through sqlite-utils, migrations, queries, dataset import and export."""
