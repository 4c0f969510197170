"""Persistence: idempotency records, results, video jobs, media, paid parts, the spend ledger, API keys."""
