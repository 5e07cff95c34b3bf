"""The weekly and monthly cycle: when runs fall due (APScheduler cron triggers), building and
issuing them through the application, and sending the messages they queue."""
