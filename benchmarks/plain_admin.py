"""The benchmark's URLconf: the portal, plus Django's plain admin (a default ModelAdmin, no
scoping, no filters) of the same models, as the baseline the portal's admin lists are
compared with."""

from django.contrib import admin
from django.urls import path

from kivaportal.lending.models import Loan
from kivaportal.repayments.models import Repayment
from kivaportal.urls import urlpatterns as portal

site = admin.AdminSite(name="plain")
site.register(Loan)
site.register(Repayment)

urlpatterns = [path("plain-admin/", site.urls), *portal]
