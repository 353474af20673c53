"""What the lending app tells the apps above it (the layers: docs/architecture.md)."""

from django.dispatch import Signal

# Sent after the transaction that raised a partner's `LoanDataVersion` commits, with
# `partner_id`: the repayments app computes the partner's stored report lines again.
loan_data_changed_signal = Signal()
