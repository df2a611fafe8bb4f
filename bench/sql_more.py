"""Generation statements for AIInteraction, the offload tables and the booking traces (see bench/sql.py)."""

from __future__ import annotations

#: featureId by cumulative share of model calls
FEATURES = (
    (0.14, "draft.generate.email"), (0.22, "draft.generate.sms"), (0.25, "draft.generate.linkedin"),
    (0.32, "draft.verify.email.step3"), (0.42, "meeting.overseer.extract"), (0.49, "meeting.overseer.gate"),
    (0.69, "auto_send.evaluate"), (0.72, "auto_send.revise"), (0.74, "auto_send.context_select"),
    (0.75, "auto_send.revision_loop"), (0.78, "followup.parse_proposed_times"), (0.80, "followup.booking.gate"),
    (0.85, "followup.detect_meeting_accept_intent"), (0.89, "followup.extract_timing"),
    (0.95, "lead_scoring.score"), (0.97, "ai.route_skipped"), (0.999, "sentiment.classify"),
    (1.01, "memory.governance.update"),
)
_FEATURE_CASE = "CASE " + " ".join(f"WHEN r_f < {share} THEN '{name}'" for share, name in FEATURES) + " END"

_BUNDLE = """jsonb_build_object('leadContextBundle', jsonb_strip_nulls(jsonb_build_object(
  'version', 'lead_context_bundle.v1', 'profile', profile,
  'knowledge', CASE WHEN profile IN ('draft', 'revision', 'auto_send_evaluator') THEN jsonb_build_object(
     'maxTokens', kmax, 'maxAssetTokens', 1200, 'totalAssets', assets, 'includedAssets', assets - tassets,
     'truncatedAssets', tassets, 'totalTokensEstimated', ktok) END,
  'memory', jsonb_build_object('maxTokens', mmax, 'maxEntryTokens', 300, 'totalEntries', entries,
     'includedEntries', entries - tentries, 'truncatedEntries', tentries, 'totalTokensEstimated', mtok),
  'totals', jsonb_build_object('tokensEstimated', ktok + mtok))))"""

INTERACTION = f"""
INSERT INTO "AIInteraction" (id, "clientId", "leadId", source, "featureId", "promptKey", model, "apiType",
       "inputTokens", "outputTokens", "reasoningTokens", "totalTokens", "latencyMs", status, "errorMessage",
       metadata, "createdAt")
SELECT md5('ai' || i)::uuid::text, bench.ws_id(k), CASE WHEN r_l < 0.9 THEN bench.lead_id(j) END,
       CASE WHEN feature LIKE 'followup.%' THEN 'cron/followups' ELSE 'lib:' || split_part(feature, '.', 1) END,
       feature, feature || '.v1' || CASE WHEN r_l < 0.02 THEN '.retry1' ELSE '' END,
       CASE WHEN feature = 'ai.route_skipped' THEN 'system' WHEN r_m < 0.6 THEN 'gpt-5.2' ELSE 'gpt-5-mini' END,
       'responses', intok, outtok, (outtok * r_m)::int, intok + outtok,
       CASE WHEN feature = 'auto_send.revise' THEN 2000 + (r_t * 18000)::int ELSE 300 + (power(r_t, 2) * 9000)::int END,
       CASE WHEN err THEN 'error' ELSE 'success' END,
       CASE WHEN err THEN 'Request timed out after 60000ms' END,
       CASE
         WHEN err THEN NULL
         WHEN feature = 'auto_send.revision_loop' THEN jsonb_build_object('runId', md5('run' || i)::uuid::text,
              'draftId', md5('draft' || i)::uuid::text, 'stopReason',
              bench.pick(r_t, 'threshold_met', 'hard_block', 'no_improvement', 'timeout', 'exhausted', 'error'),
              'iterationsUsed', 1 + (r_t * 2.9)::int, 'threshold', 0.9, 'startConfidence', 0.71,
              'endConfidence', 0.86, 'deltaConfidence', 0.15, 'cacheHits', 1, 'elapsedMs', 8400, 'channel', 'email')
         WHEN feature = 'ai.route_skipped' THEN jsonb_build_object('routeSkip', jsonb_build_object(
              'route', 'draft_generation_step2', 'reason', 'disabled', 'channel', 'sms',
              'triggerMessageId', md5('msg' || i)::uuid::text))
         WHEN feature = 'auto_send.revise' THEN jsonb_build_object('autoSendRevision', jsonb_build_object(
              'stage', 'revise', 'selectorUsed', r_t < 0.7, 'originalConfidence', 0.74, 'threshold', 0.9,
              'iteration', 1 + (r_t * 2.9)::int, 'model', 'gpt-5.2', 'reasoningEffort', 'high',
              'contextPackUsed', true, 'contextPackChars', 5200, 'hardRequirementsCount', 2,
              'hardForbiddenCount', 1, 'offeredSlotsCount', 3))
         WHEN feature = 'auto_send.context_select' THEN jsonb_build_object('autoSendRevision', jsonb_build_object(
              'stage', 'context_select', 'chunksConsidered', 40, 'candidatesSent', 12, 'mpPackPresent', true,
              'insightsPackPresent', r_t < 0.5))
         WHEN profile IS NULL THEN
              CASE WHEN r_l < 0.3 THEN NULL WHEN r_l < 0.35 THEN 'null'::jsonb ELSE '{{}}'::jsonb END
         ELSE CASE WHEN bundled THEN {_BUNDLE} ELSE '{{}}'::jsonb END
              || CASE WHEN feature = 'followup.parse_proposed_times' THEN jsonb_build_object('followupParse',
                      jsonb_build_object('confidence', round(r_t::numeric, 2), 'proposedTimesCount', (r_t * 3.9)::int,
                                         'needsTimezoneClarification', r_t < 0.1))
                      WHEN feature = 'followup.booking.gate' THEN jsonb_build_object('bookingGate',
                      jsonb_build_object('scenario', 'accept_offered', 'retryCount', 0,
                        'decision', CASE WHEN r_t < 0.6 THEN 'approve' WHEN r_t < 0.85 THEN 'needs_clarification'
                                         ELSE 'deny' END,
                        'confidence', round((1 - 0.5 * r_m)::numeric, 2), 'issuesCount', (r_m * 3)::int))
                      ELSE '{{}}'::jsonb END
       END,
       ts
FROM (
  SELECT s.*,
         CASE WHEN feature LIKE 'draft.generate.%' THEN 'draft'
              WHEN feature = 'draft.verify.email.step3' THEN 'revision'
              WHEN feature = 'auto_send.evaluate' THEN 'auto_send_evaluator'
              WHEN feature = 'meeting.overseer.gate' THEN 'meeting_overseer_gate'
              WHEN feature = 'followup.parse_proposed_times' THEN 'followup_parse'
              WHEN feature = 'followup.booking.gate' THEN 'followup_booking_gate' END AS profile,
         k % 2 = 0 AND r_b < 0.97 AS bundled,
         CASE WHEN r_b < 0.3 THEN 4000 ELSE 3000 END AS kmax, 600 AS mmax,
         3 + (r_b * 40)::int AS assets, CASE WHEN r_b < 0.12 THEN 1 + (r_b * 20)::int ELSE 0 END AS tassets,
         (r_t * 3800)::int AS ktok, 2 + (r_m * 30)::int AS entries,
         CASE WHEN r_m < 0.08 THEN 1 + (r_m * 25)::int ELSE 0 END AS tentries, (r_m * 580)::int AS mtok,
         800 + (r_t * 6000)::int AS intok, 50 + (r_m * 700)::int AS outtok
  FROM (
    SELECT i, j, bench.ws(j) AS k, ts, {_FEATURE_CASE} AS feature, r_err < 0.02 AS err, r_l, r_m, r_t, r_b
    FROM (SELECT i, floor(random() * :leads)::bigint AS j,
                 :t0 + ((i + random()) * :span / :n) * interval '1 second' AS ts,
                 random() AS r_f, random() AS r_err, random() AS r_l, random() AS r_m, random() AS r_t, random() AS r_b
          FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i) s
  ) s
) s;
"""

#: The last hour of the window holds the queue's open rows (PENDING due or later, RUNNING).
WEBHOOK = """
INSERT INTO "WebhookEvent" (id, provider, "eventType", "dedupeKey", status, "runAt", attempts, "maxAttempts",
       "lockedAt", "startedAt", "finishedAt", "lastError", "workspaceId", "leadEmail", "senderEmail", raw,
       "createdAt", "updatedAt")
SELECT md5('wh' || i)::uuid::text, provider::"WebhookProvider",
       CASE WHEN provider = 'INBOXXIA' THEN 'EMAIL_SENT' WHEN r < 0.5 THEN 'lead_created' ELSE 'crm_row_updated' END,
       md5('whkey' || i), status::"WebhookEventStatus", ts + retry, attempts, 8,
       CASE WHEN status = 'RUNNING' THEN ts + retry END,
       CASE WHEN status <> 'PENDING' THEN ts + retry + interval '2 seconds' END,
       CASE WHEN status IN ('SUCCEEDED', 'FAILED')
            THEN ts + retry + interval '2 seconds' + r * interval '3 seconds' END,
       CASE WHEN attempts > 1 OR status = 'FAILED' THEN 'Prisma P2028: transaction timeout' END,
       CASE WHEN r2 < 0.01 THEN 'unknown-' || (i % 7)
            WHEN provider = 'INBOXXIA' THEN (10000 + k)::text ELSE bench.ws_id(k) END,
       'lead' || i || '@example.invalid', 'sender@example.invalid',
       jsonb_build_object('event', 'email_sent', 'email', 'lead' || i || '@example.invalid'),
       ts, ts + retry + interval '5 seconds'
FROM (
  SELECT i, ts, r, r2, bench.ws(floor(r2 * 1000003)::bigint) AS k,
         CASE WHEN r2 < 0.7 THEN 'INBOXXIA' ELSE 'CRM' END AS provider,
         CASE WHEN r < 0.05 THEN 2 + (r * 40)::int ELSE 1 END AS attempts,
         CASE WHEN r < 0.05 THEN (r * 40 * 60)::int * interval '1 second' ELSE interval '0' END AS retry,
         CASE WHEN ts > :t0 + (:span - 1800) * interval '1 second' AND r < 0.3 THEN 'PENDING'
              WHEN ts > :t0 + (:span - 600) * interval '1 second' AND r < 0.4 THEN 'RUNNING'
              WHEN r > 0.99 THEN 'FAILED' ELSE 'SUCCEEDED' END AS status
  FROM (SELECT i, :t0 + ((i + random()) * :span / :n) * interval '1 second' AS ts, random() AS r, random() AS r2
        FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i) s
) s;
"""

FUNCTION_RUN = """
INSERT INTO "BackgroundFunctionRun" (id, "runKey", "functionName", status, attempt, "runId", source,
       "dispatchKey", "startedAt", "finishedAt", "durationMs", "lastError", "createdAt", "updatedAt")
SELECT md5('fr' || i)::uuid::text, fn || ':' || md5('frun' || i)::uuid::text || ':' || attempt, fn,
       status::"BackgroundFunctionRunStatus", attempt, md5('frun' || i)::uuid::text, 'inngest',
       fn || ':' || to_char(ts, 'YYYYMMDDHH24MI'), ts,
       CASE WHEN status <> 'RUNNING' THEN ts + dur * interval '1 millisecond' END,
       CASE WHEN status <> 'RUNNING' THEN dur END,
       CASE WHEN status = 'FAILED' THEN 'Recovered stale RUNNING run via cron watchdog' END, ts,
       CASE WHEN status <> 'RUNNING' THEN ts + dur * interval '1 millisecond' ELSE ts END
FROM (
  SELECT i, ts, (r2 < 0.03)::int AS attempt, (200 + power(r, 3) * 60000)::int AS dur,
         bench.pick(r2, 'process-background-jobs', 'process-background-jobs', 'process-background-jobs',
                    'background-maintenance', 'cron-followups', 'cron-response-timing', 'cron-availability',
                    'cron-appointment-reconcile', 'cron-emailbison-availability-slot') AS fn,
         CASE WHEN ts > :t0 + (:span - 120) * interval '1 second' THEN 'RUNNING'
              WHEN r > 0.97 THEN 'FAILED' ELSE 'SUCCEEDED' END AS status
  FROM (SELECT i, :t0 + ((i + random()) * :span / :n) * interval '1 second' AS ts, random() AS r, random() AS r2
        FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i) s
) s;
"""

APPOINTMENT = """
INSERT INTO "Appointment" (id, "leadId", provider, status, source, "startAt", "createdAt", "updatedAt")
SELECT md5('appt' || i)::uuid::text, bench.lead_id(floor(r2 * :leads)::bigint),
       (CASE WHEN r < 0.7 THEN 'GHL' ELSE 'CALENDLY' END)::"MeetingBookingProvider",
       bench.pick(r, 'CONFIRMED', 'CONFIRMED', 'CONFIRMED', 'CANCELED', 'RESCHEDULED', 'SHOWED',
                  'NO_SHOW')::"AppointmentStatus",
       bench.pick(r2, 'AUTO_BOOK', 'AUTO_BOOK', 'WEBHOOK', 'WEBHOOK', 'WEBHOOK', 'RECONCILE_CRON', 'MANUAL')
           ::"AppointmentSource",
       ts + interval '3 days', ts, ts
FROM (SELECT i, :t0 + ((i + random()) * :span / :n) * interval '1 second' AS ts, random() AS r, random() AS r2
      FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i) s;
"""

TASK = """
INSERT INTO "FollowUpTask" (id, "leadId", type, status, "dueDate", "campaignName", "createdAt", "updatedAt")
SELECT md5('task' || i)::uuid::text, bench.lead_id(floor(r2 * :leads)::bigint),
       bench.pick(r, 'email', 'sms', 'linkedin', 'call'),
       bench.pick(r2, 'pending', 'completed', 'completed', 'skipped', 'cancelled'),
       ts + interval '2 days',
       bench.pick(r, 'Scheduled follow-up (auto)', 'Scheduled follow-up (manual)',
                  'Follow-up timing clarification (auto) #1', 'Follow-up timing clarification (auto) #2',
                  'Follow-up future-window deferral notice (auto)', 'Follow-up future-window recontact (auto)',
                  'call_requested', 'lead_scheduler_link', 'phone_enrichment', 'Nurture sequence'),
       ts, ts
FROM (SELECT i, :t0 + ((i + random()) * :span / :n) * interval '1 second' AS ts, random() AS r, random() AS r2
      FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i) s;
"""

JOB = """
INSERT INTO "BackgroundJob" (id, type, status, "dedupeKey", "clientId", "leadId", "messageId", "draftId", "runAt",
       attempts, "finishedAt", "createdAt", "updatedAt")
SELECT md5('job' || i)::uuid::text,
       bench.pick(r, 'EMAIL_INBOUND_POST_PROCESS', 'EMAIL_INBOUND_POST_PROCESS', 'SMS_INBOUND_POST_PROCESS',
                  'LINKEDIN_INBOUND_POST_PROCESS', 'LEAD_SCORING_POST_PROCESS', 'CONVERSATION_SYNC',
                  'AI_AUTO_SEND_DELAYED')::"BackgroundJobType",
       (CASE WHEN ts > :t0 + (:span - 900) * interval '1 second' AND r2 < 0.5 THEN 'PENDING'
             WHEN r2 > 0.985 THEN 'FAILED' ELSE 'SUCCEEDED' END)::"BackgroundJobStatus",
       'job:' || i, bench.ws_id(bench.ws(j)), bench.lead_id(j), md5('msg' || i)::uuid::text, NULL, ts, 1,
       ts + interval '4 seconds', ts, ts
FROM (SELECT i, floor(random() * :leads)::bigint AS j, :t0 + ((i + random()) * :span / :n) * interval '1 second' AS ts,
             random() AS r, random() AS r2
      FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) i) s;
"""
