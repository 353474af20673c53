"""The Kiva app's models: the per-partner connection, and the outbox of what is sent."""

from integrations.kiva.connection_models import (  # noqa: F401
    ALL_SCOPES,
    DEFAULT_JOURNAL_PATH,
    MAX_REPAYMENT_BATCH,
    Environment,
    JournalBodyStyle,
    KivaConnection,
)
from integrations.kiva.outbox_models import (  # noqa: F401
    DUE_STATES,
    FINAL_STATES,
    Attempt,
    Submission,
    SubmissionKind,
    SubmissionState,
)
