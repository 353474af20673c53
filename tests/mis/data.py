"""The CSV inputs most tests start from: one individual loan L1 of 1200.00 PEN for C1 with a
two-line schedule, and its repayments."""

from integrations.mis.importers.loans import LoanImporter
from tests.mis.helpers import csv_source

LOANS = (
    "mis_loan_id,amount,currency,disbursal_date,activity_id,theme_type_id,"
    "description_language_id,location,description,loan_use,client_waiver_signed\n"
    "L1,1200.00,PEN,2026-01-10,7120,7007,7002,Pisac: Peru,Rosa sells vegetables.,A cart.,yes\n"
)
MEMBERS = "mis_loan_id,mis_client_id,amount\nL1,C1,1200.00\n"
SCHEDULE = (
    "mis_loan_id,due_date,principal,interest\nL1,2026-02-10,600.00,20.00\nL1,2026-03-10,600.00,10\n"
)
REPAYMENTS = (
    "mis_repayment_id,mis_loan_id,date,amount,principal,interest\nT1,L1,2026-02-10,620.00,600,20\n"
)


def loan_sources(loans=LOANS, members=MEMBERS, schedule=SCHEDULE, **kwargs):
    sources = {"main": csv_source(loans, name="loans.csv", **kwargs)}
    if members is not None:
        sources["members"] = csv_source(members, name="members.csv", **kwargs)
    if schedule is not None:
        sources["schedule"] = csv_source(schedule, name="schedule.csv", **kwargs)
    return sources


def import_loans(partner, actor=None, **kwargs):
    return LoanImporter(partner=partner, sources=loan_sources(**kwargs), actor=actor).commit()
