"""The dashboard and HTTP API over the stored data (read-only, through minerwatch.queries)."""
