"""What the workflow tells the apps above it (the layers: docs/architecture.md)."""

from django.dispatch import Signal

# Sent when a record's checks were run and stored (`record_recheck`, `records_recheck_bulk`),
# in the transaction that stores them, with `pks`: the records of model `sender`. A report's
# stored lines follow its last check (kivaportal/repayments/line_store.py).
record_checked = Signal()
