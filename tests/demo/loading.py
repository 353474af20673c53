"""Loading the demo in tests: it sends to the Kiva sandbox over HTTP, so the portal is served
on a free port for the time of the load (kivaportal/demo/serving.py, as `load_demo` does) and
the demo partners' connections point there."""

import socket
from contextlib import contextmanager

from django.test import override_settings

from kivaportal.demo.services import demo_load
from kivaportal.demo.serving import portal_served


@contextmanager
def demo_sandbox():
    """The portal served on a free port, KIVA_SANDBOX_URL pointing at it; yields the URL."""
    with (
        portal_served("http://127.0.0.1:0/") as url,
        override_settings(KIVA_SANDBOX_URL=url + "kiva-sandbox/"),
    ):
        yield url


def demo_load_served():
    with demo_sandbox():
        return demo_load()


def free_port() -> int:
    """A port nothing listens on now (for the `load_demo` command, which serves it itself)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
