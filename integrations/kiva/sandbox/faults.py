"""Fault injection, configured per sandbox partner (SandboxPartner's fault fields).

Each fault has a share (probability 0..1), tried in a fixed order; a share of 1 makes a fault
certain, and `faults_remaining` limits how many are injected (claimed by a conditional UPDATE,
so several server processes count together). Tests use share 1 with a count for determinism.
"""

import random
import time

from django.db.models import F

from integrations.kiva.sandbox.models import FaultTarget, SandboxPartner

KINDS = ("reset", "hang", "rate_limit", "error")


def choose(partner: SandboxPartner | None, target: str) -> str | None:
    if partner is None or partner.fault_target not in (target, FaultTarget.ALL):
        return None
    shares = {
        "reset": partner.reset_share,
        "hang": partner.hang_share,
        "rate_limit": partner.rate_limit_share,
        "error": partner.error_share,
    }
    for kind in KINDS:
        share = shares[kind]
        if share > 0 and random.random() < share:  # noqa: S311 - a simulation, not security
            return kind if _claim(partner) else None
    return None


def _claim(partner: SandboxPartner) -> bool:
    if partner.faults_remaining is None:
        return True
    claimed = SandboxPartner.objects.filter(pk=partner.pk, faults_remaining__gt=0).update(
        faults_remaining=F("faults_remaining") - 1
    )
    return claimed == 1


def delay(partner: SandboxPartner | None, target: str, *, started: float | None = None) -> None:
    """Hold the answer until `latency_ms` after the request arrived (`started`, a
    time.monotonic() reading): the latency is the response time a client sees, the sandbox's
    own work included, as a remote API's would be."""
    if partner and partner.latency_ms and partner.fault_target in (target, FaultTarget.ALL):
        spent = time.monotonic() - started if started is not None else 0.0
        wait = partner.latency_ms / 1000 - spent
        if wait > 0:
            time.sleep(wait)


def error_status(partner: SandboxPartner) -> int:
    statuses = [int(s) for s in partner.error_statuses.split() if s.isdigit()] or [500]
    return random.choice(statuses)  # noqa: S311
