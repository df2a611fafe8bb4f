"""The fixture is laid out as upstream creates its tables (../shared/UPSTREAM_SCHEMA.md), on both backends."""

from __future__ import annotations

from sqlalchemy import inspect, text

from db import upstream as up

#: UPSTREAM_SCHEMA.md: columns per table
COLUMNS = {"Client": 29, "WorkspaceSettings": 100, "EmailCampaign": 15, "Lead": 80, "AIDraft": 23,
           "MeetingOverseerDecision": 11, "AIInteraction": 17, "Appointment": 19, "FollowUpTask": 14,
           "WebhookEvent": 32, "BackgroundFunctionRun": 17, "BackgroundJob": 18}
#: UPSTREAM_SCHEMA.md: enum types and their labels
ENUMS = {
    "AIDraftResponseDisposition": ("AUTO_SENT", "APPROVED", "EDITED"),
    "AppointmentSource": ("WEBHOOK", "RECONCILE_CRON", "BACKFILL", "AUTO_BOOK", "MANUAL", "MIGRATION"),
    "AppointmentStatus": ("CONFIRMED", "CANCELED", "RESCHEDULED", "SHOWED", "NO_SHOW"),
    "AutoSendScheduleMode": ("ALWAYS", "BUSINESS_HOURS", "CUSTOM"),
    "BackgroundFunctionRunStatus": ("RUNNING", "SUCCEEDED", "FAILED"),
    "BackgroundJobStatus": ("PENDING", "RUNNING", "SUCCEEDED", "FAILED"),
    "BackgroundJobType": ("EMAIL_INBOUND_POST_PROCESS", "SMS_INBOUND_POST_PROCESS", "LINKEDIN_INBOUND_POST_PROCESS",
                          "SMARTLEAD_INBOUND_POST_PROCESS", "INSTANTLY_INBOUND_POST_PROCESS",
                          "LEAD_SCORING_POST_PROCESS", "CONVERSATION_SYNC", "AI_AUTO_SEND_DELAYED"),
    "CampaignResponseMode": ("SETTER_MANAGED", "AI_AUTO_SEND"),
    "EmailIntegrationProvider": ("EMAILBISON", "SMARTLEAD", "INSTANTLY"),
    "MeetingBookingProvider": ("GHL", "CALENDLY"),
    "WebhookEventStatus": ("PENDING", "RUNNING", "SUCCEEDED", "FAILED"),
    "WebhookProvider": ("INBOXXIA", "CRM"),
}


def declared_enums() -> dict[str, tuple[str, ...]]:
    return {column.type.name: column.type.labels for table in up.READ_TABLES.values() for column in table.c
            if isinstance(column.type, up.LabelEnum)}


def test_every_upstream_column_is_declared():
    assert {name: len(table.c) for name, table in up.READ_TABLES.items()} == COLUMNS


def test_enum_types_carry_upstreams_names_and_every_label():
    assert declared_enums() == ENUMS


def test_shared_bare_names_exist_as_they_do_upstream():
    """The names that made real queries ambiguous are there, with upstream's defaults."""
    for table in ("Lead", "AIDraft", "Appointment", "FollowUpTask", "AIInteraction", "WebhookEvent"):
        assert "status" in up.READ_TABLES[table].c
    assert up.lead.c.status.server_default.arg.text == "'new'" and not up.lead.c.status.nullable
    assert "source" in up.appointment.c and "source" in up.ai_interaction.c


def test_the_database_has_the_full_tables(db):
    inspector = inspect(db.conn)
    for name, count in COLUMNS.items():
        assert len(inspector.get_columns(name)) == count, name


def test_postgresql_has_the_native_enum_types_with_their_labels(db):
    if db.name != "postgresql":
        assert declared_enums()  # SQLite stores enum columns as text: nothing more to check there
        return
    rows = db.conn.execute(text(
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t "
        "JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname")).all()
    found = {name: tuple(labels) for name, labels in rows}
    for name, labels in ENUMS.items():
        assert found[name][: len(labels)] == labels, name  # a test may have added a label after them
