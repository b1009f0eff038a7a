"""Where log lines come from: files (uploads, backfills), pushed batches, CloudWatch.
Each reader yields Pages for analytics.services.imports."""
