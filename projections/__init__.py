"""Read models (SQLite via sqlite-utils) that follow the notification log, and the questions
pages, runs and exports ask of them."""
