"""Helpers to submit admin forms the way a browser does."""

from django import forms
from django.test import Client
from django.urls import reverse


def admin_url(app_label, model_name, view, *args):
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def _add_form(data, form):
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        if isinstance(field, forms.FileField):
            continue  # no upload: the admin keeps the stored file
        if isinstance(field, forms.BooleanField):
            if value:
                data[key] = "on"
            continue
        if isinstance(value, list | tuple):
            data[key] = [str(v) for v in value]
        else:
            data[key] = "" if value is None else str(value)


def form_data(response):
    """What an admin add/change page would post back if the user changed nothing."""
    data = {}
    _add_form(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        _add_form(data, formset.management_form)
        for form in formset.initial_forms:
            _add_form(data, form)
    return data


def form_errors(response):
    """The errors of a re-displayed admin form, for assertion messages and checks."""
    if response.context is None or "adminform" not in response.context:
        return {}
    errors = dict(response.context["adminform"].form.errors)
    for inline in response.context["inline_admin_formsets"]:
        for i, form_errors_ in enumerate(inline.formset.errors):
            for field, messages in form_errors_.items():
                errors[f"{inline.formset.prefix}-{i}-{field}"] = messages
        if inline.formset.non_form_errors():
            errors[f"{inline.formset.prefix}-__all__"] = inline.formset.non_form_errors()
    return errors


def browser(user):
    """A client logged in as `user` that checks CSRF tokens, as a browser's requests are."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post_form(client, url, change):
    """Open the admin form, change some fields, post it back with the page's CSRF token."""
    page = client.get(url)
    assert page.status_code == 200
    data = {**form_data(page), **change, "csrfmiddlewaretoken": page.context["csrf_token"]}
    return client.post(url, data)
