"""Calling the intake API in tests, as an MIS would."""

import json

LOAN_DRAFT = {
    "activity_id": 7120,
    "theme_type_id": 7007,
    "description_language_id": 7002,
    "currency": "PEN",
    "location": "Pisac: Peru",
    "description": "Rosa sells vegetables in the market of Pisac.",
    "loanuse": "To buy a cart.",
    "client_waiver_signed": True,
    "disburse_time": "2026-01-10",
    "entreps": [
        {
            "first_name": "Rosa",
            "last_name": "Quispe",
            "gender": "female",
            "amount": "1200.00",
            "client_id": "C100",
            "loan_id": "L100",
        }
    ],
    "schedule": [
        {"date": "2026-02-10", "principal": 600, "interest": 20},
        {"date": "2026-03-10", "principal": "600.00", "interest": "10.00"},
    ],
}


def post(client, path, body, key=None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(
        f"/api/intake/v1/{path}", data=data, content_type="application/json", **headers, **extra
    )
