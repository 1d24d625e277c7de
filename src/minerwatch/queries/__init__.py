"""The read side: every interface (CLI, API, dashboard) reads stored data through here."""
