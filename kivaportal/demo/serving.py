"""The portal served for the length of the demo's load, so the demo sends to the Kiva sandbox
through the real HTTP seam (integrations/kiva/client.py) over a socket.

Under `make run` the sandbox lives inside the portal's server, which is not running yet when
`load_demo` runs: `portal_served(url)` serves the project's own WSGI application on that host
and port in a thread, and stops it afterwards. The demo is loaded in one transaction (all or
nothing), so the serving thread uses the loading thread's database connection, as Django's
LiveServerTestCase does: the loader waits for each answer, so the two never use it at once.
Closing connections at the end of a request is switched off meanwhile (it would close the
shared one). Tests serve on port 0 (a free port) and point the sandbox URL at it.
"""

import logging
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.core import signals
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, connections


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _SharedConnectionServer(ThreadedWSGIServer):
    def _close_connections(self):
        pass  # the connection is the loader's


class _SandboxFaultsFilter(logging.Filter):
    """While the demo loads, the sandbox's answers are faults it was told to inject (a 403, a
    502, a refused draft): not logged as the portal's errors, which a new user would take
    them for. Anything else still is."""

    def filter(self, record):
        request = getattr(record, "request", None)
        return not getattr(request, "path", "").startswith("/kiva-sandbox/")


@contextmanager
def portal_served(url: str):
    """Serve the portal at `url` (scheme://host:port/) while the block runs; yields the base
    URL actually served (the port chosen when `url` asks for port 0)."""
    parts = urlsplit(url)
    # Port 0 asks for a free port (not the default 80: tests on one machine would collide).
    host, port = parts.hostname or "127.0.0.1", 80 if parts.port is None else parts.port
    shared = {alias: connections[alias] for alias in connections}
    server = _SharedConnectionServer(
        (host, port), _QuietHandler, allow_reuse_address=True, connections_override=shared
    )
    server.set_app(get_wsgi_application())
    for conn in shared.values():
        conn.inc_thread_sharing()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    thread = threading.Thread(target=server.serve_forever, name="demo-portal", daemon=True)
    quiet = _SandboxFaultsFilter()
    logging.getLogger("django.request").addFilter(quiet)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        logging.getLogger("django.request").removeFilter(quiet)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        for conn in shared.values():
            conn.dec_thread_sharing()
