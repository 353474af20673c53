"""Everything that knows Kiva: the connection, the one HTTP client, payloads, sync, sandbox."""
