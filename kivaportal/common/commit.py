"""After the transaction commits, once."""

from django.db import transaction


class _Once:
    """A callback waiting for a commit, equal to another wrapping an equal callback until it
    has run."""

    def __init__(self, callback):
        self.callback = callback
        self.ran = False

    def __call__(self):
        self.ran = True
        self.callback()

    def waits_as(self, callback) -> bool:
        return not self.ran and self.callback == callback


def on_commit_once(callback, using=None):
    """`transaction.on_commit(callback)`, unless an equal callback already waits for the same
    commit (a thousand borrowers of one import edited: one message, not a thousand). Outside
    a transaction it runs now, as `on_commit` does."""
    connection = transaction.get_connection(using)
    if connection.in_atomic_block and any(
        isinstance(func, _Once) and func.waits_as(callback)
        for _sids, func, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(_Once(callback), using=using)
