"""Where the portal may send a partner's Kiva credentials and requests: Kiva's own hosts.

Someone who can edit a connection and knows its secret could otherwise point it at any host:
the token request carries `client_secret`, API calls a live token, and the server would call
whatever address it is given. The allow-list is checked where a connection is saved (a field
error) and again by the client before anything is sent (KivaNotSentError), so a connection
saved before the list changed cannot send either (docs/security.md, "Kiva credentials").

The list: KIVA_ALLOWED_HOSTS (Kiva's hosts as its docs name them; an entry starting with "."
also allows its subdomains), the hosts of KIVA_PRODUCTION_* and KIVA_STAGE_* URLs (the
defaults of new connections), and where the local sandbox is enabled, KIVA_SANDBOX_URL's host.
Ports are not part of the rule; outside the sandbox the URLs must be https:// anyway.
"""

from urllib.parse import urlsplit

from django.conf import settings
from urllib3.util import parse_url

DEFAULT_URL_SETTINGS = (
    "KIVA_PRODUCTION_TOKEN_URL",
    "KIVA_PRODUCTION_API_URL",
    "KIVA_STAGE_TOKEN_URL",
    "KIVA_STAGE_API_URL",
)


def host_of(url: str) -> str:
    """The host the URL sends to, in lower case; "" when it names none, cannot be read, or
    could be read as two hosts: with a backslash, white space, or a user before an "@"
    (`https://attacker.example\\@partner-api.k1.kiva.org/` is Kiva's host to Python's URL
    parser and the attacker's to the HTTP library's), neither of which a Kiva URL has. The
    host must be the same to both parsers."""
    text = str(url).strip()
    if "\\" in text or any(c.isspace() or not c.isprintable() for c in text):
        return ""
    try:
        ours, theirs = urlsplit(text), parse_url(text)  # theirs: what requests connects to
    except ValueError:  # urllib3's LocationParseError is one
        return ""
    if ours.username is not None or theirs.auth is not None:
        return ""
    host = (ours.hostname or "").rstrip(".").lower()
    return host if host == (theirs.host or "").strip("[]").rstrip(".").lower() else ""


def allowed_hosts() -> list[str]:
    entries = [str(h).strip().lower() for h in settings.KIVA_ALLOWED_HOSTS if str(h).strip()]
    entries += [host_of(getattr(settings, name, "")) for name in DEFAULT_URL_SETTINGS]
    if settings.KIVA_SANDBOX_ENABLED:
        entries.append(host_of(settings.KIVA_SANDBOX_URL))
    # Loopback hosts tests name for the sandbox's server playing stage or production (set in
    # code only, never from the environment).
    entries += [str(h).lower() for h in settings.KIVA_TEST_PLAIN_HTTP_HOSTS]
    return [e for e in entries if e]


def host_allowed(url: str) -> bool:
    host = host_of(url)
    if not host:
        return False
    for entry in allowed_hosts():
        if entry.startswith("."):
            if host == entry[1:] or host.endswith(entry):
                return True
        elif host == entry:
            return True
    return False
