"""Adapters to the outside world, each behind a small Protocol owned by the code that calls it:
evidence files and ledger files for the web, mail drawing for the web's 发件箱 and the channels,
and the channels (Maildir, SMTP, webhook) the scheduler's sender delivers through."""
