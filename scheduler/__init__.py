"""The weekly and monthly cycle (APScheduler jobs that call the application): issue #5."""
