"""The Kiva app's models: the per-partner connection (what the portal sends is recorded by
the outbox, kivaportal.pipeline)."""

from integrations.kiva.connection_models import (  # noqa: F401
    ALL_SCOPES,
    DEFAULT_JOURNAL_PATH,
    MAX_REPAYMENT_BATCH,
    Environment,
    JournalBodyStyle,
    KivaConnection,
)
