# The review tests' partners, members and loans (a partner with a Kiva connection, a member
# per role, another partner with its own admin).
from tests.review.conftest import (  # noqa: F401
    make_loan,
    other_partner,
    outsider,
    partner,
    partner_admin,
    preparer,
    reviewer,
)
