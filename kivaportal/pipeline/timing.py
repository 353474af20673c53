"""The pipeline's timing, in one table (as pretix keeps its webhook retry schedule): how long
a submission waits between tries, when it gives up, when the sweeper steps in. What each
entry protects is in docs/pipeline.md. Operators change none of it in normal running; tests
that must be fast (and an operator with a reason) override entries with the setting
`KIVA_PIPELINE_TIMING`, a JSON object of the names below.
"""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Timing:
    # Seconds before retry 1, 2, ... of a submission that did not reach Kiva or was refused
    # for a passing reason; each wait is a random half to all of its step (jitter), and a
    # Retry-After from Kiva is a floor. After the last step it is marked failed.
    retry_steps: tuple[float, ...] = (10, 20, 40, 80, 160, 320, 640)
    # A retry due within this many seconds rides on the broker (a countdown); a later one
    # waits in the database for the sweeper.
    broker_countdown_max: float = 60
    # A due submission put on the queue this long ago and not taken (a lost message, a
    # broker restart) is put on it again.
    requeue_after: float = 300
    # A submission still "sending" this long after its claim has lost its worker (past the
    # task's hard time limit): the sweeper settles it. None: KIVA_SEND_TIME_LIMIT + 60.
    stale_sending_after: float | None = None
    # The most submissions one sweep puts on the queue.
    sweep_batch: int = 500

    @property
    def max_attempts(self) -> int:
        return len(self.retry_steps) + 1

    @property
    def stale_after(self) -> float:
        if self.stale_sending_after is not None:
            return self.stale_sending_after
        return settings.KIVA_SEND_TIME_LIMIT + 60


def timing() -> Timing:
    overrides = dict(settings.KIVA_PIPELINE_TIMING)
    if "retry_steps" in overrides:
        overrides["retry_steps"] = tuple(overrides["retry_steps"])
    return Timing(**overrides)
