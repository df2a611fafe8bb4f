"""The upstream app's tables as canarywatch reads them (DATA_CONTRACT.md, sections 1-11).

Quoted PascalCase tables and camelCase columns, PostgreSQL enums with the exact labels, `jsonb`,
`timestamp(3)` without time zone holding UTC, text ids with no database default, `updatedAt` with
no default, and the upstream indexes only. The same MetaData builds on SQLite with the closest
types, which is how the demo and the tests get a faithful copy.

Enum type names other than `ClientMemberRole` are not given by the contract; they follow Prisma's
convention of naming the type after the enum and are unverified against the live database.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Double,
    Enum,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects import postgresql

upstream_metadata = MetaData()

#: timestamp(3) without time zone, holding UTC (contract section 0)
Timestamp = DateTime(timezone=False).with_variant(postgresql.TIMESTAMP(precision=3), "postgresql")
#: jsonb on PostgreSQL, JSON text on SQLite. Python None is stored as the JSON literal null.
Jsonb = JSON(none_as_null=False).with_variant(postgresql.JSONB(none_as_null=False), "postgresql")


def _enum(name: str, *labels: str) -> Enum:
    return Enum(*labels, name=name, native_enum=True, create_constraint=False, validate_strings=True)


CLIENT_MEMBER_ROLES = ("ADMIN", "SETTER", "INBOX_MANAGER", "CLIENT_PORTAL")
RESPONSE_DISPOSITIONS = ("AUTO_SENT", "APPROVED", "EDITED")
RESPONSE_MODES = ("SETTER_MANAGED", "AI_AUTO_SEND")
SCHEDULE_MODES = ("ALWAYS", "BUSINESS_HOURS", "CUSTOM")
APPOINTMENT_PROVIDERS = ("GHL", "CALENDLY")
APPOINTMENT_STATUSES = ("CONFIRMED", "CANCELED", "RESCHEDULED", "SHOWED", "NO_SHOW")
APPOINTMENT_SOURCES = ("WEBHOOK", "RECONCILE_CRON", "BACKFILL", "AUTO_BOOK", "MANUAL", "MIGRATION")
WEBHOOK_PROVIDERS = ("INBOXXIA", "CRM")
WEBHOOK_STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED")
FUNCTION_RUN_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED")
JOB_STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED")
PIPELINE_RUN_STATUSES = ("RUNNING", "COMPLETED", "FAILED", "ABORTED")
JOB_TYPES = (
    "EMAIL_INBOUND_POST_PROCESS",
    "SMS_INBOUND_POST_PROCESS",
    "LINKEDIN_INBOUND_POST_PROCESS",
    "LEAD_SCORING_POST_PROCESS",
    "CONVERSATION_SYNC",
    "AI_AUTO_SEND_DELAYED",
)

client_member_role = _enum("ClientMemberRole", *CLIENT_MEMBER_ROLES)
response_disposition = _enum("ResponseDisposition", *RESPONSE_DISPOSITIONS)
campaign_response_mode = _enum("CampaignResponseMode", *RESPONSE_MODES)
auto_send_schedule_mode = _enum("AutoSendScheduleMode", *SCHEDULE_MODES)
appointment_provider = _enum("MeetingBookingProvider", *APPOINTMENT_PROVIDERS)
appointment_status = _enum("AppointmentStatus", *APPOINTMENT_STATUSES)
appointment_source = _enum("AppointmentSource", *APPOINTMENT_SOURCES)
webhook_provider = _enum("WebhookEventProvider", *WEBHOOK_PROVIDERS)
webhook_status = _enum("WebhookEventStatus", *WEBHOOK_STATUSES)
function_run_status = _enum("BackgroundFunctionRunStatus", *FUNCTION_RUN_STATUSES)
job_status = _enum("BackgroundJobStatus", *JOB_STATUSES)
job_type = _enum("BackgroundJobType", *JOB_TYPES)
pipeline_run_status = _enum("DraftPipelineRunStatus", *PIPELINE_RUN_STATUSES)


def _id() -> Column:
    return Column("id", Text, primary_key=True)  # client-side uuid, no database default


def _created_at() -> Column:
    return Column("createdAt", Timestamp, nullable=False, server_default=func.current_timestamp())


def _updated_at() -> Column:
    return Column("updatedAt", Timestamp, nullable=False)  # Prisma @updatedAt: no database default


client = Table(
    "Client",
    upstream_metadata,
    _id(),
    Column("name", Text, nullable=False),
    Column("userId", Text, nullable=False),
    Column("emailBisonWorkspaceId", Text, nullable=True, unique=True),
    _created_at(),
    _updated_at(),
)

client_member = Table(
    "ClientMember",
    upstream_metadata,
    _id(),
    Column("clientId", Text, nullable=False),
    Column("userId", Text, nullable=False),
    Column("role", client_member_role, nullable=False),
    _created_at(),
    Index("ClientMember_clientId_idx", "clientId"),
)

workspace_settings = Table(
    "WorkspaceSettings",
    upstream_metadata,
    _id(),
    Column("clientId", Text, nullable=False, unique=True),
    Column("leadContextBundleEnabled", Boolean, nullable=False, server_default=false()),
    Column("leadContextBundleBudgets", Jsonb, nullable=True),
    Column("followupBookingGateEnabled", Boolean, nullable=False, server_default=false()),
    Column("autoSendRevisionEnabled", Boolean, nullable=False, server_default=false()),
    Column("autoSendRevisionModel", Text, nullable=True),
    Column("autoSendRevisionReasoningEffort", Text, nullable=True),
    Column("autoSendRevisionMaxIterations", Integer, nullable=True),
    Column("autoSendEvaluatorModel", Text, nullable=True),
    Column("autoSendEvaluatorReasoningEffort", Text, nullable=True),
    Column("meetingOverseerEnabled", Boolean, nullable=False, server_default=true()),
    Column("draftGenerationEnabled", Boolean, nullable=False, server_default=true()),
    Column("draftGenerationStep2Enabled", Boolean, nullable=False, server_default=true()),
    Column("draftVerificationStep3Enabled", Boolean, nullable=False, server_default=true()),
    Column("aiRouteBookingProcessEnabled", Boolean, nullable=False, server_default=true()),
    Column("autoBookMeetings", Boolean, nullable=False, server_default=false()),
    Column("autoSendSkipHumanReview", Boolean, nullable=False, server_default=false()),
    Column("autoSendScheduleMode", auto_send_schedule_mode, nullable=False, server_default=text("'ALWAYS'")),
    Column("autoSendCustomSchedule", Jsonb, nullable=True),
    Column("emailDraftVerificationModel", Text, nullable=False, server_default=text("'gpt-5.2'")),
    Column("highQuotaEnabled", Boolean, nullable=False, server_default=false()),
    Column("crmWebhookEnabled", Boolean, nullable=False, server_default=false()),
    _created_at(),
    _updated_at(),
)

email_campaign = Table(
    "EmailCampaign",
    upstream_metadata,
    _id(),
    Column("clientId", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("responseMode", campaign_response_mode, nullable=False, server_default=text("'SETTER_MANAGED'")),
    Column("autoSendConfidenceThreshold", Double, nullable=False, server_default=text("0.9")),
    Column("autoSendSkipHumanReview", Boolean, nullable=True),
    Column("autoSendDelayMinSeconds", Integer, nullable=False, server_default=text("180")),
    Column("autoSendDelayMaxSeconds", Integer, nullable=False, server_default=text("420")),
    _created_at(),
    _updated_at(),
    Index("EmailCampaign_clientId_idx", "clientId"),
)

lead = Table(
    "Lead",
    upstream_metadata,
    _id(),
    Column("clientId", Text, nullable=False),
    Column("emailCampaignId", Text, nullable=True),
    Column("email", Text, nullable=True),  # personal data: never selected
    Column("firstName", Text, nullable=True),  # personal data: never selected
    Column("sentimentTag", Text, nullable=True),
    Column("autoReplyEnabled", Boolean, nullable=False, server_default=false()),
    Column("appointmentSource", Text, nullable=True),
    Column("appointmentBookedAt", Timestamp, nullable=True),
    _created_at(),
    _updated_at(),
    Index("Lead_clientId_idx", "clientId"),
    Index("Lead_emailCampaignId_idx", "emailCampaignId"),
)

message = Table(
    "Message",
    upstream_metadata,
    _id(),
    Column("leadId", Text, nullable=False),
    Column("channel", Text, nullable=False, server_default=text("'sms'")),
    Column("direction", Text, nullable=False),
    Column("body", Text, nullable=False),  # personal data: never selected
    Column("sentAt", Timestamp, nullable=False),
    _created_at(),
    Index("Message_leadId_idx", "leadId"),
)

ai_draft = Table(
    "AIDraft",
    upstream_metadata,
    _id(),
    Column("leadId", Text, nullable=False),
    Column("triggerMessageId", Text, nullable=True),
    Column("content", Text, nullable=False),  # personal data: never selected
    Column("channel", Text, nullable=False, server_default=text("'sms'")),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("responseDisposition", response_disposition, nullable=True),
    Column("autoSendEvaluatedAt", Timestamp, nullable=True),
    Column("autoSendConfidence", Double, nullable=True),
    Column("autoSendThreshold", Double, nullable=True),
    Column("autoSendReason", Text, nullable=True),  # evaluator free text: only reason codes are read
    Column("autoSendAction", Text, nullable=True),
    Column("autoSendSlackNotified", Boolean, nullable=False, server_default=false()),
    Column("autoSendRevisionAttemptedAt", Timestamp, nullable=True),
    Column("autoSendOriginalConfidence", Double, nullable=True),
    Column("autoSendRevisionConfidence", Double, nullable=True),
    Column("autoSendRevisionApplied", Boolean, nullable=False, server_default=false()),
    Column("autoSendRevisionSelectorUsed", Boolean, nullable=True),
    Column("autoSendRevisionIterations", Integer, nullable=False, server_default=text("0")),
    Column("slackNotificationChannelId", Text, nullable=True),
    Column("slackNotificationMessageTs", Text, nullable=True),
    _created_at(),
    _updated_at(),
    UniqueConstraint("triggerMessageId", "channel", name="AIDraft_triggerMessageId_channel_key"),
    Index("AIDraft_leadId_idx", "leadId"),
    Index("AIDraft_triggerMessageId_idx", "triggerMessageId"),
    Index("AIDraft_channel_idx", "channel"),
    Index("AIDraft_status_idx", "status"),
    Index("AIDraft_responseDisposition_idx", "responseDisposition"),
    Index("AIDraft_autoSendAction_idx", "autoSendAction"),
    Index("AIDraft_autoSendEvaluatedAt_idx", "autoSendEvaluatedAt"),
    Index("AIDraft_autoSendRevisionAttemptedAt_idx", "autoSendRevisionAttemptedAt"),
)

meeting_overseer_decision = Table(
    "MeetingOverseerDecision",
    upstream_metadata,
    _id(),
    Column("messageId", Text, nullable=False),
    Column("leadId", Text, nullable=False),
    Column("clientId", Text, nullable=False),
    Column("stage", Text, nullable=False),
    Column("promptKey", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("confidence", Double, nullable=True),
    Column("payload", Jsonb, nullable=False),  # holds final_draft/evidence/rationale: only codes are read
    _created_at(),
    _updated_at(),
    UniqueConstraint("messageId", "stage", name="MeetingOverseerDecision_messageId_stage_key"),
    Index("MeetingOverseerDecision_clientId_idx", "clientId"),
    Index("MeetingOverseerDecision_clientId_createdAt_idx", "clientId", text('"createdAt" DESC')),
    Index("MeetingOverseerDecision_leadId_idx", "leadId"),
    Index("MeetingOverseerDecision_messageId_idx", "messageId"),
)

ai_interaction = Table(
    "AIInteraction",
    upstream_metadata,
    _id(),
    Column("clientId", Text, nullable=False),
    Column("leadId", Text, nullable=True),
    Column("source", Text, nullable=True),
    Column("featureId", Text, nullable=False),
    Column("promptKey", Text, nullable=True),
    Column("model", Text, nullable=False),
    Column("apiType", Text, nullable=True),
    Column("inputTokens", Integer, nullable=True),
    Column("outputTokens", Integer, nullable=True),
    Column("reasoningTokens", Integer, nullable=True),
    Column("totalTokens", Integer, nullable=True),
    Column("latencyMs", Integer, nullable=True),
    Column("status", Text, nullable=False, server_default=text("'success'")),
    Column("errorMessage", Text, nullable=True),  # free text: never selected
    Column("metadata", Jsonb, nullable=True),
    _created_at(),
    Index("AIInteraction_clientId_idx", "clientId"),
    Index("AIInteraction_leadId_idx", "leadId"),
    Index("AIInteraction_featureId_idx", "featureId"),
    Index("AIInteraction_model_idx", "model"),
    Index("AIInteraction_status_idx", "status"),
    Index("AIInteraction_createdAt_idx", text('"createdAt" DESC')),
    Index("AIInteraction_clientId_createdAt_idx", "clientId", text('"createdAt" DESC')),
    Index("AIInteraction_clientId_featureId_createdAt_idx", "clientId", "featureId", text('"createdAt" DESC')),
    Index("AIInteraction_clientId_source_createdAt_idx", "clientId", "source", text('"createdAt" DESC')),
)

appointment = Table(
    "Appointment",
    upstream_metadata,
    _id(),
    Column("leadId", Text, nullable=False),
    Column("provider", appointment_provider, nullable=False),
    Column("status", appointment_status, nullable=False),
    Column("source", appointment_source, nullable=False),
    Column("startAt", Timestamp, nullable=False),
    _created_at(),
    _updated_at(),
    Index("Appointment_leadId_idx", "leadId"),
    Index("Appointment_leadId_status_idx", "leadId", "status"),
    Index("Appointment_leadId_status_startAt_idx", "leadId", "status", "startAt"),
    Index("Appointment_startAt_idx", "startAt"),
    Index("Appointment_status_idx", "status"),
    Index("Appointment_provider_idx", "provider"),
    Index("Appointment_createdAt_idx", text('"createdAt" DESC')),
)

follow_up_task = Table(
    "FollowUpTask",
    upstream_metadata,
    _id(),
    Column("leadId", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("dueDate", Timestamp, nullable=False),
    Column("campaignName", Text, nullable=True),
    Column("instanceId", Text, nullable=True),
    _created_at(),
    _updated_at(),
    Index("FollowUpTask_leadId_idx", "leadId"),
    Index("FollowUpTask_dueDate_idx", "dueDate"),
    Index("FollowUpTask_status_idx", "status"),
    Index("FollowUpTask_instanceId_idx", "instanceId"),
)

webhook_event = Table(
    "WebhookEvent",
    upstream_metadata,
    _id(),
    Column("provider", webhook_provider, nullable=False),
    Column("eventType", Text, nullable=False),
    Column("dedupeKey", Text, nullable=False, unique=True),
    Column("status", webhook_status, nullable=False, server_default=text("'PENDING'")),
    Column("runAt", Timestamp, nullable=False, server_default=func.current_timestamp()),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("maxAttempts", Integer, nullable=False, server_default=text("8")),
    Column("lockedAt", Timestamp, nullable=True),
    Column("startedAt", Timestamp, nullable=True),
    Column("finishedAt", Timestamp, nullable=True),
    Column("lastError", Text, nullable=True),  # free text: never selected
    Column("workspaceId", Text, nullable=True),
    Column("scheduledEmailId", Text, nullable=True),
    Column("leadEmail", Text, nullable=True),  # personal data: never selected
    Column("senderEmail", Text, nullable=True),  # personal data: never selected
    Column("raw", Jsonb, nullable=True),  # personal data: never selected
    _created_at(),
    _updated_at(),
    Index("WebhookEvent_status_runAt_idx", "status", "runAt"),
    Index("WebhookEvent_provider_eventType_idx", "provider", "eventType"),
    Index("WebhookEvent_workspaceId_idx", "workspaceId"),
    Index("WebhookEvent_scheduledEmailId_idx", "scheduledEmailId"),
)

background_function_run = Table(
    "BackgroundFunctionRun",
    upstream_metadata,
    _id(),
    Column("runKey", Text, nullable=False, unique=True),
    Column("functionName", Text, nullable=False),
    Column("status", function_run_status, nullable=False),
    Column("attempt", Integer, nullable=False, server_default=text("0")),
    Column("runId", Text, nullable=True),
    Column("source", Text, nullable=True),
    Column("clientId", Text, nullable=True),  # never written upstream: the table is global
    Column("dispatchKey", Text, nullable=True),
    Column("startedAt", Timestamp, nullable=False),
    Column("finishedAt", Timestamp, nullable=True),
    Column("durationMs", Integer, nullable=True),
    Column("lastError", Text, nullable=True),  # free text: never selected
    _created_at(),
    Index("BackgroundFunctionRun_functionName_createdAt_idx", "functionName", text('"createdAt" DESC')),
    Index("BackgroundFunctionRun_status_createdAt_idx", "status", text('"createdAt" DESC')),
    Index("BackgroundFunctionRun_dispatchKey_idx", "dispatchKey"),
    Index("BackgroundFunctionRun_runId_idx", "runId"),
)

background_job = Table(
    "BackgroundJob",
    upstream_metadata,
    _id(),
    Column("type", job_type, nullable=False),
    Column("status", job_status, nullable=False, server_default=text("'PENDING'")),
    Column("clientId", Text, nullable=False),
    Column("leadId", Text, nullable=True),
    Column("draftId", Text, nullable=True),
    Column("runAt", Timestamp, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("finishedAt", Timestamp, nullable=True),
    Column("lastError", Text, nullable=True),  # free text: never selected
    _created_at(),
    _updated_at(),
    Index("BackgroundJob_status_runAt_idx", "status", "runAt"),
    Index("BackgroundJob_clientId_idx", "clientId"),
    Index("BackgroundJob_draftId_idx", "draftId"),
)

#: Columns that can hold personal data or free text. No query may select them (tests/test_personal_data.py).
PERSONAL_DATA_COLUMNS = {
    "Lead": ("email", "firstName"),
    "Message": ("body",),
    "AIDraft": ("content", "autoSendReason"),
    "MeetingOverseerDecision": ("payload",),
    "AIInteraction": ("errorMessage",),
    "WebhookEvent": ("lastError", "leadEmail", "senderEmail", "raw"),
    "BackgroundFunctionRun": ("lastError",),
    "BackgroundJob": ("lastError",),
}
