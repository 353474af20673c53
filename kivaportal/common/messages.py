"""Stored messages that each reader reads in their own language.

A message written at the moment of an event (a submission's error, written by a worker) is
kept as its untranslated template and its values, and translated when it is shown: a Spanish
reviewer reads it in Spanish, whoever the worker was. Its template is marked with
`gettext_noop` where it is written, so that makemessages finds it.

- `message(msgid, **params)`: the value to store (a JSONField). A value that is itself Kiva's
  text or an exception's (a reason, Kiva's problem text) is evidence: it stays as it is. A
  value that is another portal message (`message(...)`) is translated with it.
- `message_text(value)`: the text in the active language. A plain string (a row written before
  messages were stored this way, or evidence) is shown as it is.

The same idea as a check's `Finding` (kivaportal/common/checks.py), for free-standing messages.
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

MSGID = "msgid"
PARAMS = "params"


def message(msgid: str, /, **params) -> dict:
    """A message to store: `msgid` (marked with gettext_noop by the caller) and its values.
    Numbers stay numbers (for %(n)d); messages stay messages; anything else is kept as text."""
    return {MSGID: msgid, PARAMS: {name: _stored(value) for name, value in params.items()}}


def _stored(value):
    if is_message(value) or isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return str(value)


def label_message(label) -> dict | str:
    """A choice's label (`gettext_lazy("Kiva stage (test)")`) as a message, so that it is read
    in each reader's language too; its text as it is when it is not a lazy translation."""
    args = getattr(label, "_args", None)  # Django's lazy proxy keeps what it was called with
    if args and isinstance(args[0], str):
        return message(args[0])
    return str(label)


def is_message(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get(MSGID), str)


def message_text(value) -> str:
    """`value` (a stored message, a plain string, or None) as text in the active language."""
    if not value:
        return ""
    if not is_message(value):
        return str(value)
    params = {
        name: message_text(v) if is_message(v) else v
        for name, v in (value.get(PARAMS) or {}).items()
    }
    msgid = value[MSGID]
    for template in (gettext(msgid), msgid):
        try:
            return template % params if params else template
        except (KeyError, ValueError, TypeError):
            continue  # a translation that names another value: the English template then
    return msgid


def message_default_text(value) -> str:
    """`value`'s text in the portal's default language (LANGUAGE_CODE), whoever writes it:
    what is kept beside the message for searching and logs."""
    with translation.override(settings.LANGUAGE_CODE):
        return message_text(value)


def message_fields(name: str, value) -> dict:
    """The model fields that store `value` under `name`: `name` its text in the default
    language (search, the admin's filters, old readers), `<name>_message` the message itself,
    or None for plain text (evidence, or nothing)."""
    if not is_message(value):
        return {name: str(value or ""), f"{name}_message": None}
    return {name: message_default_text(value), f"{name}_message": value}
