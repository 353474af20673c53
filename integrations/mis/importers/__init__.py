"""One importer per record type. Each checks every row first (`check`), and only when no row
has an error writes them all in bulk (`write`), inside the caller's transaction."""
