"""The write side: toggles, kill-switch reading, the audit log, concurrency rules."""
