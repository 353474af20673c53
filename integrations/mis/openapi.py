"""The OpenAPI 3.1 description of the intake API, served at /api/intake/v1/openapi.json.

Kept by hand next to the views it describes; the fuzz test generates requests from these
schemas, so a field added to the payloads but not here goes untested, and the reverse fails.
"""

AMOUNT = {
    "type": ["number", "string"],
    "description": "Decimal in the loan's currency; a string keeps every digit exact.",
    "examples": ["1200.00"],
}
DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD", "examples": ["2026-03-31"]}
TEXT64 = {"type": "string", "maxLength": 64}
ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string", "description": "JSON path, e.g. entreps[0].amount"},
                    "message": {"type": "string"},
                    "code": {"type": "string", "enum": ["invalid", "conflict", "blocking"]},
                },
            },
        },
    },
}
ENTREP = {
    "type": "object",
    "required": ["client_id", "amount"],
    "properties": {
        "first_name": {"type": "string", "maxLength": 100},
        "last_name": {"type": "string", "maxLength": 100},
        "gender": {"type": "string", "enum": ["female", "male"]},
        "amount": AMOUNT,
        "client_id": TEXT64,
        "loan_id": {**TEXT64, "description": "The MIS loan id (individual loans: the loan's id)."},
    },
}
LOAN_DRAFT = {
    "type": "object",
    "required": ["entreps"],
    "description": "Kiva's loan_draft. The loan amount is the sum of the borrowers' amounts.",
    "properties": {
        "activity_id": {"type": "integer", "minimum": 0},
        "theme_type_id": {"type": "integer", "minimum": 0},
        "description_language_id": {"type": "integer", "minimum": 0},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "location": {"type": "string", "maxLength": 300},
        "description": {"type": "string", "maxLength": 10000},
        "loanuse": {"type": "string", "maxLength": 10000},
        "client_waiver_signed": {"type": "boolean"},
        "disburse_time": DATE,
        "image_encoded": {"type": "string", "description": "Base64 JPEG or PNG."},
        "entreps": {"type": "array", "minItems": 1, "items": ENTREP},
        "schedule": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["date", "principal"],
                "properties": {"date": DATE, "principal": AMOUNT, "interest": AMOUNT},
            },
        },
        "group_name": {"type": "string", "maxLength": 200},
        "internal_client_id": TEXT64,
        "internal_loan_id": TEXT64,
        "not_pictured": {"type": "array", "items": {"type": "boolean"}},
    },
}
REPAYMENTS = {
    "type": "object",
    "required": ["repayments"],
    "properties": {
        "date": {**DATE, "description": "Date of every line without its own; default today."},
        "repayments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["loan_id", "amount"],
                "properties": {
                    "loan_id": TEXT64,
                    "client_id": TEXT64,
                    "amount": AMOUNT,
                    "date": DATE,
                    "repayment_id": {
                        **TEXT64,
                        "description": "The MIS transaction id; default loan_id:client_id:date.",
                    },
                    "principal": AMOUNT,
                    "interest": AMOUNT,
                },
            },
        },
    },
}
JOURNAL = {
    "type": "object",
    "required": ["internal_loan_id", "subject", "body"],
    "properties": {
        "internal_loan_id": TEXT64,
        "internal_client_id": TEXT64,
        "subject": {"type": "string", "maxLength": 200},
        "body": {"type": "string", "maxLength": 10000},
        "image_url": {"type": "string", "description": "Accepted and ignored."},
    },
}
JOURNALS = {
    "oneOf": [
        {
            "type": "object",
            "required": ["journals"],
            "properties": {"journals": {"type": "array", "minItems": 1, "items": JOURNAL}},
        },
        {"type": "array", "minItems": 1, "items": JOURNAL},
    ]
}
BORROWERS = {
    "type": "object",
    "required": ["borrowers"],
    "properties": {
        "borrowers": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["client_id", "first_name", "last_name", "gender"],
                "properties": {
                    "client_id": TEXT64,
                    "first_name": {"type": "string", "maxLength": 100},
                    "last_name": {"type": "string", "maxLength": 100},
                    "gender": {"type": "string", "enum": ["female", "male"]},
                    "birth_date": DATE,
                    "phone": {"type": "string", "maxLength": 40},
                    "city": {"type": "string", "maxLength": 120},
                    "is_active": {"type": "boolean"},
                },
            },
        }
    },
}
SCHEMAS = {
    "LoanDraft": LOAN_DRAFT,
    "Repayments": REPAYMENTS,
    "Journals": JOURNALS,
    "Borrowers": BORROWERS,
    "Error": ERROR,
}
# path -> (schema, summary, takes the submit flag)
OPERATIONS = {
    "/loan_draft": ("LoanDraft", "Create or update a loan (Kiva's loan_draft shape)", True),
    "/repayments": ("Repayments", "Record repayment transactions (Kiva's repayments shape)", False),
    "/journals": ("Journals", "Create or update journals (Kiva's journals shape)", True),
    "/borrowers": ("Borrowers", "Create or update borrowers by MIS client id", False),
}


def _operation(schema, summary, submit):
    def error(description):
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }

    parameters = []
    if submit:
        parameters.append(
            {
                "name": "submit",
                "in": "query",
                "required": False,
                "description": "true: submit the record for review (blocking errors refuse it).",
                "schema": {"type": "string", "enum": ["true", "false"]},
            }
        )
    return {
        "summary": summary,
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        },
        "responses": {
            "200": {"description": "Saved (or unchanged).", "content": {"application/json": {}}},
            "400": error("Invalid input; nothing saved. Each error names its JSON field."),
            "401": error("Missing, unknown or revoked API key."),
            "409": error("A record is being sent to Kiva (or withdrawn) and cannot change now."),
            "413": error("Body larger than INTAKE_API_MAX_BODY_BYTES."),
            "415": error("Body is not application/json."),
        },
    }


def spec(server_url: str = "/api/intake/v1") -> dict:
    paths = {path: {"post": _operation(*op)} for path, op in OPERATIONS.items()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kiva partner portal: MIS intake API",
            "version": "1",
            "description": (
                "Accepts the JSON shapes of Kiva's Partner API so an MIS built for Kiva can "
                "send here instead. Records land as drafts awaiting review. Each call is "
                "saved whole or refused whole. The same paths also answer under "
                "/v3/partner/{partnerId}/ (Kiva's layout). See docs/intake.md."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}, {"apiKeyHeader": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The API key."},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
    }
