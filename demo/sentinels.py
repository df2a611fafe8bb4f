"""Obviously fake values planted in every column that could hold personal data or free text.

If one of these strings ever appears in a query result, a page, a log or an export, something
selected a column it must not (tests/test_personal_data.py looks for exactly this).
"""

PII_MARK = "PII-SENTINEL"
PII_EMAIL = "pii-sentinel@example.invalid"


def pii_text(what: str) -> str:
    return f"{PII_MARK} {what} (fake personal data)"
