"""The OpenAPI 3.1 description of the intake API, served at /api/intake/v1/openapi.json.

The fuzz test generates its requests from these schemas.
The paths are Kiva's (`/v3/partner/{partnerId}/...`); the writes also answer without the
prefix.

The request bodies' schemas are generated from the importers' column definitions (what each
field's parser accepts, whether it is required, its help text) through api_mapping's field
maps: the description and the validation are one source.
"""

from integrations.mis.api_mapping import (
    BORROWER_FIELDS,
    ENTREP_FIELDS,
    JOURNAL_FIELDS,
    LOAN_FIELDS,
    REPAYMENT_FIELDS,
    SCHEDULE_FIELDS,
)
from integrations.mis.fields import parse_bool, parse_date, parse_int
from integrations.mis.importers.borrowers import COLUMNS as BORROWER_COLUMNS
from integrations.mis.importers.borrowers import gender
from integrations.mis.importers.journals import COLUMNS as JOURNAL_COLUMNS
from integrations.mis.importers.loan_parts import (
    LOAN_COLUMNS,
    MEMBER_COLUMNS,
    SCHEDULE_COLUMNS,
    currency,
)
from integrations.mis.importers.repayments import COLUMNS as REPAYMENT_COLUMNS
from integrations.mis.importers.repayments import money, part

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


def _schema_of(column) -> dict:
    """The JSON Schema of what a column's parser accepts: the API's description is read from
    the same column definitions the importers validate with, so the two cannot drift."""
    parse = column.parse
    if hasattr(parse, "max_length"):
        found = {"type": "string", "maxLength": parse.max_length}
    else:
        found = {
            parse_date: DATE,
            money: {**AMOUNT, "description": "Greater than zero. " + AMOUNT["description"]},
            part: {**AMOUNT, "description": "Zero or more. " + AMOUNT["description"]},
            parse_int: {"type": "integer", "minimum": 0},
            parse_bool: {"type": "boolean"},
            gender: {"type": "string", "enum": ["female", "male"]},
            currency: {"type": "string", "pattern": "^[A-Z]{3}$"},
        }[parse]
    found = dict(found)  # never the shared constants themselves
    if column.help and "description" not in found:
        found["description"] = str(column.help)
    return found


def _object(
    fields: dict, columns, *, optional=(), required=(), extra=None, description="", notes=None
):
    """An object of Kiva's field names (`fields`: Kiva name -> column), typed by `columns`.
    Required: what the column requires, less `optional` (derived or defaulted in JSON).
    `notes` replace a column's (file-oriented) help where JSON differs."""
    by_name = {c.name: c for c in columns}
    properties, needed = {}, list(required)
    for name, column_name in fields.items():
        column = by_name[column_name]
        properties[name] = _schema_of(column)
        if notes and name in notes:
            properties[name]["description"] = notes[name]
        if column.required and name not in optional:
            needed.append(name)
    found = {"type": "object", "properties": {**properties, **(extra or {})}}
    if needed:
        found["required"] = needed
    if description:
        found["description"] = description
    return found


ENTREP = _object(
    ENTREP_FIELDS,
    MEMBER_COLUMNS,
    notes={
        "client_id": "The client's id in the MIS; with names, creates or updates the borrower.",
        "amount": "This borrower's share. " + AMOUNT["description"],
        "loan_id": "The MIS loan id (individual loans: the loan's id).",
    },
    extra={
        kiva: _schema_of({c.name: c for c in BORROWER_COLUMNS}[column])
        for kiva, column in BORROWER_FIELDS.items()
        if kiva in ("first_name", "last_name", "gender")
    },
)
LOAN_DRAFT = _object(
    LOAN_FIELDS,
    LOAN_COLUMNS,
    required=["entreps"],
    description="Kiva's loan_draft. The loan amount is the sum of the borrowers' amounts.",
    extra={
        "image_encoded": {"type": "string", "description": "Base64 JPEG or PNG."},
        "entreps": {"type": "array", "minItems": 1, "items": ENTREP},
        "schedule": {"type": "array", "items": _object(SCHEDULE_FIELDS, SCHEDULE_COLUMNS)},
        "internal_loan_id": {**TEXT64, "description": "A group loan's MIS id."},
        "not_pictured": {
            "type": "array",
            "items": {"type": "boolean"},
            "description": "Group loans: one per borrower, in order.",
        },
    },
)
REPAYMENT = _object(
    REPAYMENT_FIELDS,
    REPAYMENT_COLUMNS,
    optional=("repayment_id", "date"),
    notes={
        "date": "Default: the call's date, else today.",
        "repayment_id": (
            "The MIS transaction id; default loan_id:client_id:date (or the month, undated)."
        ),
    },
)
REPAYMENTS = {
    "type": "object",
    "required": ["repayments"],
    "properties": {
        "date": {**DATE, "description": "Date of every line without its own; default today."},
        "repayments": {"type": "array", "minItems": 1, "items": REPAYMENT},
    },
}
JOURNAL = _object(
    JOURNAL_FIELDS,
    JOURNAL_COLUMNS,
    extra={"image_url": {"type": "string", "description": "Accepted and ignored."}},
)
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
            "items": _object(BORROWER_FIELDS, BORROWER_COLUMNS),
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
            "401": error("Missing, unknown, expired or revoked token or API key."),
            "403": error("The token lacks the scope, or the path names another partner."),
            "409": error("A record is being sent to Kiva (or withdrawn) and cannot change now."),
            "413": error("Body larger than INTAKE_API_MAX_BODY_BYTES."),
            "415": error("Body is not application/json."),
        },
    }


CONFIG_ITEMS = {
    "activities": {"activity_id": {"type": "integer"}, "activity": {"type": "string"}},
    "locales": {
        "currency": {"type": "string"},
        "language_code": {"type": "string"},
        "language_name": {"type": "string"},
        "language_id": {"type": "integer"},
    },
    "themes": {"theme_type_id": {"type": "integer"}, "theme_type": {"type": "string"}},
    "locations": {
        "country": {"type": "string"},
        "location": {"type": "string"},
        "full_name": {"type": "string"},
    },
}
SCOPE_OF = {
    "/loan_draft": "create:loan_draft",
    "/repayments": "create:repayment",
    "/journals": "create:journal_update",
    "/borrowers": "create:loan_draft",
}
PARTNER = {
    "name": "partnerId",
    "in": "path",
    "required": True,
    "description": "The partner's Kiva partner id (the token's partnerId).",
    "schema": {"type": "string"},
}


def _error(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _read(summary, scopes, parameters=()):
    return {
        "summary": summary,
        "security": [{"oauth2": [scope]} for scope in scopes] + [{"bearer": []}],
        "parameters": [PARTNER, *parameters],
        "responses": {
            "200": {"description": "Kiva's answer.", "content": {"application/json": {}}},
            "400": _error("A bad query parameter, named in errors[].field."),
            "401": _error("Missing, unknown, expired or revoked token or API key."),
            "403": _error("The token lacks the scope, or the path names another partner."),
        },
    }


def _query(name, description, schema):
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


def _token_operation():
    form = {
        "type": "object",
        "required": ["grant_type"],
        "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
            "audience": {"type": "string", "description": "Read and ignored."},
            "scope": {"type": "string", "description": "Space-separated; default: all."},
        },
    }
    return {
        "summary": "A token for an MIS client (OAuth2 client credentials, as Kiva's)",
        "security": [],
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": form}},
        },
        "responses": {
            "200": {
                "description": "access_token, token_type, expires_in, scope, iss, partnerId, jti",
                "content": {"application/json": {}},
            },
            "400": {"description": "unsupported_grant_type or invalid_request"},
            "401": {"description": "access_denied: wrong, unknown, revoked or expired client"},
            "403": {"description": "access_denied: none of the asked scopes is allowed"},
        },
    }


def spec(server_url: str = "/api/intake/v1") -> dict:
    paths = {}
    for path, op in OPERATIONS.items():
        operation = _operation(*op)
        operation["security"] = [{"oauth2": [SCOPE_OF[path]]}, {"bearer": []}, {"apiKeyHeader": []}]
        paths[f"/v3/partner/{{partnerId}}{path}"] = {
            "post": {**operation, "parameters": [PARTNER, *operation["parameters"]]}
        }
    for name, item in CONFIG_ITEMS.items():
        paths[f"/v3/partner/{{partnerId}}/config/{name}"] = {
            "get": _read(
                f"Kiva's config/{name}: the partner's list as synced from Kiva; items {item}",
                ["read:loans", "create:loan_draft"],
            )
        }
    paths["/v3/partner/{partnerId}/loans"] = {
        "get": _read(
            "The partner's loans in Kiva's shape, with their MIS ids and the portal's state",
            ["read:loans"],
            [
                _query("offset", "Default 0.", {"type": "integer", "minimum": 0}),
                _query("limit", "Default 20.", {"type": "integer", "minimum": 1, "maximum": 300}),
                _query("query", "An MIS loan or client id, or a name.", {"type": "string"}),
                _query("status", "A portal state or a Kiva status.", {"type": "string"}),
            ],
        )
    }
    paths["/oauth/token"] = {"post": _token_operation()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kiva partner portal: MIS intake API",
            "version": "1",
            "description": (
                "Kiva's Partner API, answered by the portal so an MIS built for Kiva changes "
                "only its URLs and credentials: a token from oauth/token, the config lists, "
                "loans, and the writes. Records land as drafts awaiting review. Each call is "
                "saved whole or refused whole. See docs/intake.md."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}, {"apiKeyHeader": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": f"{server_url}/oauth/token",
                            "scopes": {
                                "read:loans": "GET loans and the config lists",
                                "create:loan_draft": "POST loan_draft and borrowers",
                                "create:repayment": "POST repayments",
                                "create:journal_update": "POST journals",
                            },
                        }
                    },
                },
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from oauth/token, or an API key.",
                },
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
    }
