"""The demo's own server while it loads (kivaportal/demo/serving.py)."""

import logging
from types import SimpleNamespace

from kivaportal.demo.serving import _SandboxFaultsFilter, portal_served


def request_log(path):
    return logging.makeLogRecord(
        {"name": "django.request", "msg": "Bad Gateway", "request": SimpleNamespace(path=path)}
    )


def test_while_the_demo_loads_the_sandboxs_injected_faults_are_not_logged_as_errors():
    """The sandbox's 403 and 502 (faults the demo asks for) are not the portal's errors, which
    a new user running `make run` would take them for; any other error still is, and after the
    load the sandbox's are too."""
    logger = logging.getLogger("django.request")
    with portal_served("http://127.0.0.1:0/"):
        assert not logger.filter(request_log("/kiva-sandbox/v3/partner/9001/loan_draft"))
        assert logger.filter(request_log("/p/1/"))
    assert logger.filter(request_log("/kiva-sandbox/v3/partner/9001/loan_draft"))
    assert not any(isinstance(f, _SandboxFaultsFilter) for f in logger.filters)
