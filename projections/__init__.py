"""Read models (SQLite via sqlite-utils) that follow the notification log: issue #3."""
