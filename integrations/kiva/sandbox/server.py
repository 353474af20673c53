"""The sandbox as its own HTTP server: a threaded WSGI server serving only the sandbox URLs.

Used by `manage.py kiva_sandbox --port N` and by the tests' `kiva_sandbox` fixture. It differs
from Django's runserver in one way: it can *reset* a connection. A view that wants that sets
`RESET_KEY` in the WSGI environ; `ResettingApp` then sets SO_LINGER to zero and closes the
socket, so the client gets a TCP RST instead of a response, as when a load balancer drops a
connection. Raising ConnectionResetError afterwards makes wsgiref stop quietly, as it does when
a client hangs up. (Mounted inside the portal, where the socket is out of reach, a reset fault
becomes an empty 502 answer instead; docs/kiva.md says so.)
"""

import socket
import struct

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.test.testcases import LiveServerThread

from .endpoint import HANDLER_KEY, RESET_KEY

URLCONF = "integrations.kiva.sandbox.urls_standalone"


class SandboxWSGIHandler(WSGIHandler):
    """Django's handler with the sandbox's URLconf instead of the portal's."""

    def get_response(self, request):
        request.urlconf = URLCONF
        return super().get_response(request)


class ResettingApp:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        result = self.app(environ, start_response)
        if environ.get(RESET_KEY):
            handler = environ.get(HANDLER_KEY)
            if handler is not None:
                close = getattr(result, "close", None)
                if close:
                    close()
                handler.close_connection = True
                sock = handler.connection
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                raise ConnectionResetError("kiva sandbox: connection reset on purpose")
        return result


class SandboxRequestHandler(WSGIRequestHandler):
    def get_environ(self):
        environ = super().get_environ()
        environ[HANDLER_KEY] = self
        return environ


class QuietSandboxRequestHandler(SandboxRequestHandler):
    def log_message(self, format, *args):
        pass


def application():
    return ResettingApp(SandboxWSGIHandler())


def make_server(host: str, port: int, *, quiet: bool = False) -> ThreadedWSGIServer:
    handler = QuietSandboxRequestHandler if quiet else SandboxRequestHandler
    server = ThreadedWSGIServer((host, port), handler, allow_reuse_address=True)
    server.set_app(application())
    return server


class TestServer(ThreadedWSGIServer):
    def _close_connections(self):
        # A shared in-memory SQLite connection belongs to the test's thread; a request thread
        # that outlives the test (a hang) must not try to close it. Own connections are closed.
        if not self.connections_override:
            super()._close_connections()


class SandboxServerThread(LiveServerThread):
    """Serves the sandbox on a free port in a thread, sharing the tests' database connection
    where it must (in-memory SQLite), as Django's LiveServerTestCase does."""

    def __init__(self, host="127.0.0.1", connections_override=None):
        super().__init__(host, lambda _app: application(), connections_override, port=0)

    def _create_server(self, connections_override=None):
        return TestServer(
            (self.host, self.port),
            QuietSandboxRequestHandler,
            allow_reuse_address=False,
            connections_override=connections_override,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/kiva-sandbox/"
