"""Bytes → chain objects. Knows nothing of databases or the web, so any worker can run it."""
