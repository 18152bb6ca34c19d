-- Hand-written SQL for every metric of the repository's project, by month: what an analyst would
-- write against the same semantic-model SQL (`{{ model }}` stands for the rendered `sql:` of that
-- semantic model, in parentheses). tally-bench times each against tally's SQL and checks that both
-- return the same rows. One statement per `-- metric:` section.


-- metric: conversation_volume
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) AS conversation_volume
FROM {{ conversations }} AS t
WHERE is_inbound
GROUP BY 1;

-- metric: outbound_conversation_volume
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) AS outbound_conversation_volume
FROM {{ conversations }} AS t
WHERE NOT is_inbound
GROUP BY 1;

-- metric: mature_conversations
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) AS mature_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: resolved_conversations
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_resolved) AS resolved_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: resolution_rate
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_resolved) AS DOUBLE) / NULLIF(COUNT(*), 0) AS resolution_rate
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: teammate_resolution_rate
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_resolved) - COUNT(*) FILTER (WHERE is_automated_resolution) AS DOUBLE) / NULLIF(COUNT(*), 0) AS teammate_resolution_rate
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: first_closed_conversations
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) FILTER (WHERE has_closed) AS first_closed_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: reopened_conversations
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_reopened) AS reopened_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: reopen_rate
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_reopened) AS DOUBLE) / NULLIF(COUNT(*) FILTER (WHERE has_closed), 0) AS reopen_rate
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: abandonment_eligible_conversations
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) AS abandonment_eligible_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_abandonment_eligible
GROUP BY 1;

-- metric: abandoned_conversations
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_abandoned) AS abandoned_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_abandonment_eligible
GROUP BY 1;

-- metric: abandonment_rate
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_abandoned) AS DOUBLE) / NULLIF(COUNT(*), 0) AS abandonment_rate
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_abandonment_eligible
GROUP BY 1;

-- metric: resolution_time_average
SELECT DATE_TRUNC('month', last_close_at) AS metric_time__month, AVG(resolution_hours) AS resolution_time_average
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_closed
GROUP BY 1;

-- metric: resolution_time_median
SELECT DATE_TRUNC('month', last_close_at) AS metric_time__month, QUANTILE_CONT(resolution_hours, 0.5) AS resolution_time_median
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_closed
GROUP BY 1;

-- metric: first_response_time_average
SELECT DATE_TRUNC('month', first_human_reply_at) AS metric_time__month, AVG(first_response_minutes) AS first_response_time_average
FROM {{ conversations }} AS t
WHERE is_inbound
  AND has_first_response
GROUP BY 1;

-- metric: first_response_time_median
SELECT DATE_TRUNC('month', first_human_reply_at) AS metric_time__month, QUANTILE_CONT(first_response_minutes, 0.5) AS first_response_time_median
FROM {{ conversations }} AS t
WHERE is_inbound
  AND has_first_response
GROUP BY 1;

-- metric: first_response_time_p90
SELECT DATE_TRUNC('month', first_human_reply_at) AS metric_time__month, QUANTILE_CONT(first_response_minutes, 0.9) AS first_response_time_p90
FROM {{ conversations }} AS t
WHERE is_inbound
  AND has_first_response
GROUP BY 1;

-- metric: conversations_without_teammate_reply
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_without_teammate_reply) AS conversations_without_teammate_reply
FROM {{ conversations }} AS t
WHERE is_inbound
GROUP BY 1;

-- metric: unanswered_conversations
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_unanswered) AS unanswered_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
GROUP BY 1;

-- metric: conversations_resolved_without_repeat_contact
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_resolved_without_repeat_contact) AS conversations_resolved_without_repeat_contact
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: resolved_without_repeat_contact_rate
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_resolved_without_repeat_contact) AS DOUBLE) / NULLIF(COUNT(*), 0) AS resolved_without_repeat_contact_rate
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: proactive_messages_sent
SELECT DATE_TRUNC('month', received_at) AS metric_time__month, COUNT(*) AS proactive_messages_sent
FROM {{ content_receipts }} AS t
GROUP BY 1;

-- metric: proactive_messages_delivered
SELECT DATE_TRUNC('month', received_at) AS metric_time__month, COUNT(*) FILTER (WHERE first_hard_bounce IS NULL) AS proactive_messages_delivered
FROM {{ content_receipts }} AS t
GROUP BY 1;

-- metric: proactive_messages_opened
SELECT DATE_TRUNC('month', received_at) AS metric_time__month, COUNT(*) FILTER (WHERE first_hard_bounce IS NULL AND first_open IS NOT NULL) AS proactive_messages_opened
FROM {{ content_receipts }} AS t
GROUP BY 1;

-- metric: proactive_messages_clicked
SELECT DATE_TRUNC('month', received_at) AS metric_time__month, COUNT(*) FILTER (WHERE first_hard_bounce IS NULL AND first_click IS NOT NULL) AS proactive_messages_clicked
FROM {{ content_receipts }} AS t
GROUP BY 1;

-- metric: proactive_messages_replied
SELECT DATE_TRUNC('month', received_at) AS metric_time__month, COUNT(*) FILTER (WHERE first_hard_bounce IS NULL AND first_reply IS NOT NULL) AS proactive_messages_replied
FROM {{ content_receipts }} AS t
GROUP BY 1;

-- metric: proactive_open_rate
SELECT DATE_TRUNC('month', received_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE first_hard_bounce IS NULL AND first_open IS NOT NULL) AS DOUBLE) / NULLIF(COUNT(*) FILTER (WHERE first_hard_bounce IS NULL), 0) AS proactive_open_rate
FROM {{ content_receipts }} AS t
GROUP BY 1;

-- metric: proactive_click_rate
SELECT DATE_TRUNC('month', received_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE first_hard_bounce IS NULL AND first_click IS NOT NULL) AS DOUBLE) / NULLIF(COUNT(*) FILTER (WHERE first_hard_bounce IS NULL), 0) AS proactive_click_rate
FROM {{ content_receipts }} AS t
GROUP BY 1;

-- metric: rated_conversations
SELECT DATE_TRUNC('month', rated_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_rated) AS rated_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_rated
GROUP BY 1;

-- metric: positive_ratings
SELECT DATE_TRUNC('month', rated_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_positive_rating) AS positive_ratings
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_rated
GROUP BY 1;

-- metric: csat
SELECT DATE_TRUNC('month', rated_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_positive_rating) AS DOUBLE) / NULLIF(COUNT(*) FILTER (WHERE is_rated), 0) AS csat
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_rated
GROUP BY 1;

-- metric: average_rating
SELECT DATE_TRUNC('month', rated_at) AS metric_time__month, AVG(rating) AS average_rating
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_rated
GROUP BY 1;

-- metric: closed_conversations
SELECT DATE_TRUNC('month', last_close_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_closed) AS closed_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_closed
GROUP BY 1;

-- metric: repeat_contacts
SELECT DATE_TRUNC('month', last_close_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_repeat_contact) AS repeat_contacts
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_closed
GROUP BY 1;

-- metric: repeat_contact_rate
SELECT DATE_TRUNC('month', last_close_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_repeat_contact) AS DOUBLE) / NULLIF(COUNT(*) FILTER (WHERE is_closed), 0) AS repeat_contact_rate
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_closed
GROUP BY 1;

-- metric: repeat_contact_customer_rate
SELECT DATE_TRUNC('month', last_close_at) AS metric_time__month, CAST(COUNT(DISTINCT CASE WHEN is_repeat_contact THEN contact_id END) AS DOUBLE) / NULLIF(COUNT(DISTINCT contact_id), 0) AS repeat_contact_customer_rate
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_closed
GROUP BY 1;

-- metric: customers_with_closed_conversations
SELECT DATE_TRUNC('month', last_close_at) AS metric_time__month, COUNT(DISTINCT contact_id) AS customers_with_closed_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_closed
GROUP BY 1;

-- metric: repeat_contacting_customers
SELECT DATE_TRUNC('month', last_close_at) AS metric_time__month, COUNT(DISTINCT CASE WHEN is_repeat_contact THEN contact_id END) AS repeat_contacting_customers
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_closed
GROUP BY 1;

-- metric: help_center_sessions
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, COUNT(*) AS help_center_sessions
FROM {{ help_center_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: self_served_sessions
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_self_served) AS self_served_sessions
FROM {{ help_center_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: self_serve_resolution_rate
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_self_served) AS DOUBLE) / NULLIF(COUNT(*), 0) AS self_serve_resolution_rate
FROM {{ help_center_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: article_views
SELECT DATE_TRUNC('month', viewed_at) AS metric_time__month, COUNT(*) AS article_views
FROM {{ article_views }} AS t
GROUP BY 1;

-- metric: anonymous_article_views
SELECT DATE_TRUNC('month', viewed_at) AS metric_time__month, COUNT(*) FILTER (WHERE NOT is_identified) AS anonymous_article_views
FROM {{ article_views }} AS t
GROUP BY 1;

-- metric: identified_article_views
SELECT DATE_TRUNC('month', viewed_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_identified) AS identified_article_views
FROM {{ article_views }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: resolving_article_views
SELECT DATE_TRUNC('month', viewed_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_resolving_view) AS resolving_article_views
FROM {{ article_views }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: article_resolution_rate
SELECT DATE_TRUNC('month', viewed_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_resolving_view) AS DOUBLE) / NULLIF(COUNT(*) FILTER (WHERE is_identified), 0) AS article_resolution_rate
FROM {{ article_views }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: automated_resolutions
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_automated_resolution) AS automated_resolutions
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: automated_resolution_rate
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_automated_resolution) AS DOUBLE) / NULLIF(COUNT(*), 0) AS automated_resolution_rate
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
GROUP BY 1;

-- metric: fin_conversations
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) AS fin_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
  AND ai_agent_participated
GROUP BY 1;

-- metric: fin_automated_resolution_rate
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_automated_resolution) AS DOUBLE) / NULLIF(COUNT(*), 0) AS fin_automated_resolution_rate
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
  AND ai_agent_participated
GROUP BY 1;

-- metric: fin_reported_resolution_rate
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE is_fin_resolution) AS DOUBLE) / NULLIF(COUNT(*), 0) AS fin_reported_resolution_rate
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
  AND ai_agent_participated
GROUP BY 1;

-- metric: fin_resolutions
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_fin_resolution) AS fin_resolutions
FROM {{ conversations }} AS t
WHERE is_inbound
  AND is_resolution_mature
  AND ai_agent_participated
GROUP BY 1;

-- metric: support_sessions
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, COUNT(*) AS support_sessions
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: sessions_stopped_seeking
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, COUNT(*) FILTER (WHERE outcome = 'stopped_seeking') AS sessions_stopped_seeking
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: sessions_resolved_self_serve
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, COUNT(*) FILTER (WHERE outcome = 'self_serve_resolved') AS sessions_resolved_self_serve
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: sessions_human_from_start
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, COUNT(*) FILTER (WHERE outcome = 'human_from_start') AS sessions_human_from_start
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: sessions_human_after_self_serve
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, COUNT(*) FILTER (WHERE outcome = 'human_after_self_serve') AS sessions_human_after_self_serve
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: resolved_support_sessions
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, COUNT(*) FILTER (WHERE outcome <> 'stopped_seeking') AS resolved_support_sessions
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: people_seeking_support
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, COUNT(DISTINCT person_key) AS people_seeking_support
FROM {{ support_sessions }} AS t
GROUP BY 1;

-- metric: funnel_self_serve_resolution_rate
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE outcome = 'self_serve_resolved') AS DOUBLE) / NULLIF(COUNT(*) FILTER (WHERE outcome <> 'stopped_seeking'), 0) AS funnel_self_serve_resolution_rate
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: session_article_views
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, SUM(article_view_count) AS session_article_views
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: unfollowed_article_views
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, SUM(unfollowed_article_view_count) AS unfollowed_article_views
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: funnel_articles_resolution_rate
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, CAST(SUM(unfollowed_article_view_count) AS DOUBLE) / NULLIF(SUM(article_view_count), 0) AS funnel_articles_resolution_rate
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: fin_answered_sessions
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, COUNT(*) FILTER (WHERE is_fin_answered) AS fin_answered_sessions
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: fin_closed_conversations
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, SUM(fin_closed_conversation_count) AS fin_closed_conversations
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: funnel_automated_resolution_rate
SELECT DATE_TRUNC('month', session_started_at) AS metric_time__month, CAST(SUM(fin_closed_conversation_count) AS DOUBLE) / NULLIF(COUNT(*) FILTER (WHERE is_fin_answered), 0) AS funnel_automated_resolution_rate
FROM {{ support_sessions }} AS t
WHERE is_mature
GROUP BY 1;

-- metric: proactive_messages_reacted
SELECT DATE_TRUNC('month', received_at) AS metric_time__month, COUNT(*) FILTER (WHERE first_hard_bounce IS NULL AND first_reaction IS NOT NULL) AS proactive_messages_reacted
FROM {{ content_receipts }} AS t
GROUP BY 1;

-- metric: human_served_conversations
SELECT DATE_TRUNC('month', t.created_at) AS metric_time__month, COUNT(*) AS human_served_conversations
FROM {{ conversations }} AS t
JOIN {{ support_session_conversations }} AS f ON f.conversation_id = t.conversation_id
WHERE t.is_inbound
GROUP BY 1;

-- metric: human_served_csat
SELECT DATE_TRUNC('month', t.rated_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE t.is_positive_rating) AS DOUBLE) / NULLIF(COUNT(*), 0) AS human_served_csat
FROM {{ conversations }} AS t
JOIN {{ support_session_conversations }} AS f ON f.conversation_id = t.conversation_id
WHERE t.is_inbound
  AND t.is_rated
GROUP BY 1;

-- metric: human_served_first_response_time_median
SELECT DATE_TRUNC('month', t.first_human_reply_at) AS metric_time__month, QUANTILE_CONT(t.first_response_minutes, 0.5) AS human_served_first_response_time_median
FROM {{ conversations }} AS t
JOIN {{ support_session_conversations }} AS f ON f.conversation_id = t.conversation_id
WHERE t.is_inbound
  AND t.has_first_response
GROUP BY 1;

-- metric: human_served_time_to_close_median
SELECT DATE_TRUNC('month', s.stats_last_close_at) AS metric_time__month, QUANTILE_CONT(s.time_to_last_close_minutes, 0.5) AS human_served_time_to_close_median
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
JOIN {{ support_session_conversations }} AS f ON f.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_closed_after_contact
GROUP BY 1;

-- metric: human_served_conversations_previous_period
SELECT DATE_TRUNC('month', t.created_at + INTERVAL 1 MONTH) AS metric_time__month, COUNT(*) AS human_served_conversations_previous_period
FROM {{ conversations }} AS t
JOIN {{ support_session_conversations }} AS f ON f.conversation_id = t.conversation_id
WHERE t.is_inbound
GROUP BY 1;

-- metric: human_served_csat_previous_period
SELECT DATE_TRUNC('month', t.rated_at + INTERVAL 1 MONTH) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE t.is_positive_rating) AS DOUBLE) / NULLIF(COUNT(*), 0) AS human_served_csat_previous_period
FROM {{ conversations }} AS t
JOIN {{ support_session_conversations }} AS f ON f.conversation_id = t.conversation_id
WHERE t.is_inbound
  AND t.is_rated
GROUP BY 1;

-- metric: human_served_first_response_time_median_previous_period
SELECT DATE_TRUNC('month', t.first_human_reply_at + INTERVAL 1 MONTH) AS metric_time__month, QUANTILE_CONT(t.first_response_minutes, 0.5) AS human_served_first_response_time_median_previous_period
FROM {{ conversations }} AS t
JOIN {{ support_session_conversations }} AS f ON f.conversation_id = t.conversation_id
WHERE t.is_inbound
  AND t.has_first_response
GROUP BY 1;

-- metric: human_served_time_to_close_median_previous_period
SELECT DATE_TRUNC('month', s.stats_last_close_at + INTERVAL 1 MONTH) AS metric_time__month, QUANTILE_CONT(s.time_to_last_close_minutes, 0.5) AS human_served_time_to_close_median_previous_period
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
JOIN {{ support_session_conversations }} AS f ON f.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_closed_after_contact
GROUP BY 1;

-- metric: new_inbound_conversations
SELECT DATE_TRUNC('month', created_at) AS metric_time__month, COUNT(*) AS new_inbound_conversations
FROM {{ conversations }} AS t
WHERE is_inbound
GROUP BY 1;

-- metric: first_responses
SELECT DATE_TRUNC('month', first_human_reply_at) AS metric_time__month, COUNT(first_human_reply_at) AS first_responses
FROM {{ conversations }} AS t
WHERE is_inbound
GROUP BY 1;

-- metric: time_to_assignment_average
-- Intercom's conversation statistics (conversation_statistics), inbound conversations.
SELECT DATE_TRUNC('month', s.first_assignment_at) AS metric_time__month, AVG(s.time_to_assignment_minutes) AS time_to_assignment_average
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.has_assignment
GROUP BY 1;

-- metric: time_to_assignment_median
SELECT DATE_TRUNC('month', s.first_assignment_at) AS metric_time__month, QUANTILE_CONT(s.time_to_assignment_minutes, 0.5) AS time_to_assignment_median
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.has_assignment
GROUP BY 1;

-- metric: time_to_admin_reply_average
SELECT DATE_TRUNC('month', s.first_admin_reply_at) AS metric_time__month, AVG(s.time_to_admin_reply_minutes) AS time_to_admin_reply_average
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.has_admin_reply
GROUP BY 1;

-- metric: time_to_admin_reply_median
SELECT DATE_TRUNC('month', s.first_admin_reply_at) AS metric_time__month, QUANTILE_CONT(s.time_to_admin_reply_minutes, 0.5) AS time_to_admin_reply_median
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.has_admin_reply
GROUP BY 1;

-- metric: time_to_first_close_average
SELECT DATE_TRUNC('month', s.stats_first_close_at) AS metric_time__month, AVG(s.time_to_first_close_minutes) AS time_to_first_close_average
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.has_stats_close
GROUP BY 1;

-- metric: time_to_first_close_median
SELECT DATE_TRUNC('month', s.stats_first_close_at) AS metric_time__month, QUANTILE_CONT(s.time_to_first_close_minutes, 0.5) AS time_to_first_close_median
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.has_stats_close
GROUP BY 1;

-- metric: time_to_last_close_average
SELECT DATE_TRUNC('month', s.stats_last_close_at) AS metric_time__month, AVG(s.time_to_last_close_minutes) AS time_to_last_close_average
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_closed_after_contact
GROUP BY 1;

-- metric: time_to_last_close_median
SELECT DATE_TRUNC('month', s.stats_last_close_at) AS metric_time__month, QUANTILE_CONT(s.time_to_last_close_minutes, 0.5) AS time_to_last_close_median
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_closed_after_contact
GROUP BY 1;

-- metric: time_to_last_human_close_average
SELECT DATE_TRUNC('month', s.last_human_close_at) AS metric_time__month, AVG(s.time_to_last_human_close_minutes) AS time_to_last_human_close_average
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_closed_by_teammate
GROUP BY 1;

-- metric: time_to_last_human_close_median
SELECT DATE_TRUNC('month', s.last_human_close_at) AS metric_time__month, QUANTILE_CONT(s.time_to_last_human_close_minutes, 0.5) AS time_to_last_human_close_median
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_closed_by_teammate
GROUP BY 1;

-- metric: conversation_median_reply_time_median
SELECT DATE_TRUNC('month', s.last_admin_reply_at) AS metric_time__month, QUANTILE_CONT(s.reply_time_median_minutes, 0.5) AS conversation_median_reply_time_median
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.has_reply_time
GROUP BY 1;

-- metric: reply_time_average
-- Reply times: one row per teammate reply to a customer (conversation_replies).
SELECT DATE_TRUNC('month', r.replied_at) AS metric_time__month, AVG(r.reply_minutes) AS reply_time_average
FROM {{ conversation_replies }} AS r
JOIN {{ conversations }} AS t ON t.conversation_id = r.conversation_id
WHERE t.is_inbound
GROUP BY 1;

-- metric: reply_time_median
SELECT DATE_TRUNC('month', r.replied_at) AS metric_time__month, QUANTILE_CONT(r.reply_minutes, 0.5) AS reply_time_median
FROM {{ conversation_replies }} AS r
JOIN {{ conversations }} AS t ON t.conversation_id = r.conversation_id
WHERE t.is_inbound
GROUP BY 1;

-- metric: rating_eligible_conversations
-- CSAT as Intercom attributes it (conversation_statistics), inbound conversations.
SELECT DATE_TRUNC('month', s.stats_last_close_at) AS metric_time__month, COUNT(*) AS rating_eligible_conversations
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_rating_eligible
GROUP BY 1;

-- metric: rated_eligible_conversations
SELECT DATE_TRUNC('month', s.stats_last_close_at) AS metric_time__month, COUNT(*) AS rated_eligible_conversations
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_rated_in_window
GROUP BY 1;

-- metric: rating_response_rate
SELECT DATE_TRUNC('month', s.stats_last_close_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE s.is_rated_in_window) AS DOUBLE) / NULLIF(COUNT(*), 0) AS rating_response_rate
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_rating_eligible
GROUP BY 1;

-- metric: teammate_rated_conversations
SELECT DATE_TRUNC('month', s.teammate_rated_at) AS metric_time__month, COUNT(*) AS teammate_rated_conversations
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_teammate_rated
GROUP BY 1;

-- metric: teammate_positive_ratings
SELECT DATE_TRUNC('month', s.teammate_rated_at) AS metric_time__month, COUNT(*) FILTER (WHERE s.is_teammate_positive) AS teammate_positive_ratings
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_teammate_rated
GROUP BY 1;

-- metric: teammate_csat
SELECT DATE_TRUNC('month', s.teammate_rated_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE s.is_teammate_positive) AS DOUBLE) / NULLIF(COUNT(*), 0) AS teammate_csat
FROM {{ conversation_statistics }} AS s
JOIN {{ conversations }} AS t ON t.conversation_id = s.conversation_id
WHERE t.is_inbound
  AND s.is_teammate_rated
GROUP BY 1;

-- metric: first_response_time_business_median
-- Business time (office hours removed, models/calendars.yml), from the hand-made calendar table of
-- calendars.sql: a duration is the business clock at its end minus the one at its start, each
-- read from the row of its UTC day (NULL outside the calendar's range or when the end comes first).
SELECT DATE_TRUNC('month', t.first_human_reply_at) AS metric_time__month, QUANTILE_CONT(CASE WHEN t.first_human_reply_at >= t.started_at THEN (bench.business_clock(t.first_human_reply_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 60.0 END, 0.5) AS first_response_time_business_median
FROM {{ conversations }} AS t
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(t.started_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(t.first_human_reply_at AS DATE)
WHERE t.is_inbound
  AND t.has_first_response
GROUP BY 1;

-- metric: first_response_time_business_average
SELECT DATE_TRUNC('month', t.first_human_reply_at) AS metric_time__month, AVG(CASE WHEN t.first_human_reply_at >= t.started_at THEN (bench.business_clock(t.first_human_reply_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 60.0 END) AS first_response_time_business_average
FROM {{ conversations }} AS t
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(t.started_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(t.first_human_reply_at AS DATE)
WHERE t.is_inbound
  AND t.has_first_response
GROUP BY 1;

-- metric: team_first_response_time_business_median
SELECT DATE_TRUNC('month', t.first_human_reply_at) AS metric_time__month, QUANTILE_CONT(CASE WHEN t.first_human_reply_at >= t.started_at THEN (bench.business_clock(t.first_human_reply_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 60.0 END, 0.5) AS team_first_response_time_business_median
FROM {{ conversations }} AS t
LEFT JOIN bench.team_calendar AS tc ON tc.team_id = t.team_id
LEFT JOIN bench.office_hours AS s ON s.calendar = COALESCE(tc.calendar, 'support_workspace') AND s.day = CAST(t.started_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = COALESCE(tc.calendar, 'support_workspace') AND e.day = CAST(t.first_human_reply_at AS DATE)
WHERE t.is_inbound
  AND t.has_first_response
GROUP BY 1;

-- metric: team_first_response_time_business_average
SELECT DATE_TRUNC('month', t.first_human_reply_at) AS metric_time__month, AVG(CASE WHEN t.first_human_reply_at >= t.started_at THEN (bench.business_clock(t.first_human_reply_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 60.0 END) AS team_first_response_time_business_average
FROM {{ conversations }} AS t
LEFT JOIN bench.team_calendar AS tc ON tc.team_id = t.team_id
LEFT JOIN bench.office_hours AS s ON s.calendar = COALESCE(tc.calendar, 'support_workspace') AND s.day = CAST(t.started_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = COALESCE(tc.calendar, 'support_workspace') AND e.day = CAST(t.first_human_reply_at AS DATE)
WHERE t.is_inbound
  AND t.has_first_response
GROUP BY 1;

-- metric: time_to_first_close_business_median
SELECT DATE_TRUNC('month', t.first_close_at) AS metric_time__month, QUANTILE_CONT(CASE WHEN t.first_close_at >= t.started_at THEN (bench.business_clock(t.first_close_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 3600.0 END, 0.5) AS time_to_first_close_business_median
FROM {{ conversations }} AS t
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(t.started_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(t.first_close_at AS DATE)
WHERE t.is_inbound
GROUP BY 1;

-- metric: time_to_first_close_business_average
SELECT DATE_TRUNC('month', t.first_close_at) AS metric_time__month, AVG(CASE WHEN t.first_close_at >= t.started_at THEN (bench.business_clock(t.first_close_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 3600.0 END) AS time_to_first_close_business_average
FROM {{ conversations }} AS t
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(t.started_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(t.first_close_at AS DATE)
WHERE t.is_inbound
GROUP BY 1;

-- metric: time_to_last_close_business_median
SELECT DATE_TRUNC('month', t.last_close_at) AS metric_time__month, QUANTILE_CONT(CASE WHEN t.last_close_at >= t.started_at THEN (bench.business_clock(t.last_close_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 3600.0 END, 0.5) AS time_to_last_close_business_median
FROM {{ conversations }} AS t
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(t.started_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(t.last_close_at AS DATE)
WHERE t.is_inbound
GROUP BY 1;

-- metric: time_to_last_close_business_average
SELECT DATE_TRUNC('month', t.last_close_at) AS metric_time__month, AVG(CASE WHEN t.last_close_at >= t.started_at THEN (bench.business_clock(t.last_close_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 3600.0 END) AS time_to_last_close_business_average
FROM {{ conversations }} AS t
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(t.started_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(t.last_close_at AS DATE)
WHERE t.is_inbound
GROUP BY 1;

-- metric: reply_time_business_median
SELECT DATE_TRUNC('month', r.replied_at) AS metric_time__month, QUANTILE_CONT(CASE WHEN r.replied_at >= r.customer_message_at THEN (bench.business_clock(r.replied_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(r.customer_message_at, s.open_at, s.close_at, s.cum_s)) / 60.0 END, 0.5) AS reply_time_business_median
FROM {{ conversation_replies }} AS r
JOIN {{ conversations }} AS t ON t.conversation_id = r.conversation_id
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(r.customer_message_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(r.replied_at AS DATE)
WHERE t.is_inbound
GROUP BY 1;

-- metric: reply_time_business_average
SELECT DATE_TRUNC('month', r.replied_at) AS metric_time__month, AVG(CASE WHEN r.replied_at >= r.customer_message_at THEN (bench.business_clock(r.replied_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(r.customer_message_at, s.open_at, s.close_at, s.cum_s)) / 60.0 END) AS reply_time_business_average
FROM {{ conversation_replies }} AS r
JOIN {{ conversations }} AS t ON t.conversation_id = r.conversation_id
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(r.customer_message_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(r.replied_at AS DATE)
WHERE t.is_inbound
GROUP BY 1;

-- metric: first_response_sla_attainment
-- The first-response SLA: 60 business minutes (workspace hours) from t0 to the first human reply,
-- else the first close, else as_of. Its deadline is the instant the clock reaches the start's
-- clock + 3,600 s: on the one day whose open seconds contain it.
SELECT DATE_TRUNC('month', t.first_human_reply_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE CASE WHEN t.first_human_reply_at >= t.started_at THEN (bench.business_clock(t.first_human_reply_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 60.0 END <= 60) AS DOUBLE) / NULLIF(COUNT(t.first_human_reply_at), 0) AS first_response_sla_attainment
FROM {{ conversations }} AS t
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(t.started_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(t.first_human_reply_at AS DATE)
WHERE t.is_inbound
GROUP BY 1;

-- metric: first_response_sla_breaches
WITH sla AS (
  SELECT
    t.started_at,
    t.first_human_reply_at,
    t.first_close_at,
    CASE WHEN t.first_response_sla_stop_at >= t.started_at THEN (bench.business_clock(t.first_response_sla_stop_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 60.0 END AS sla_minutes,
    bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s) + 3600 AS due_clock
  FROM {{ conversations }} AS t
  LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(t.started_at AS DATE)
  LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(t.first_response_sla_stop_at AS DATE)
  WHERE t.is_inbound
),
deadline AS (
  SELECT sla.*, d.open_at + TO_SECONDS(sla.due_clock - d.cum_s) AS due_at
  FROM sla
  LEFT JOIN bench.office_hours AS d
    ON d.calendar = 'support_workspace' AND sla.due_clock > d.cum_s AND sla.due_clock <= d.cum_s + d.open_s
)
SELECT DATE_TRUNC('month', CASE WHEN sla_minutes > 60 THEN due_at END) AS metric_time__month, COUNT(*) FILTER (WHERE sla_minutes > 60) AS first_response_sla_breaches
FROM deadline
GROUP BY 1;

-- metric: first_response_sla_decided
WITH sla AS (
  SELECT
    t.started_at,
    t.first_human_reply_at,
    t.first_close_at,
    CASE WHEN t.first_response_sla_stop_at >= t.started_at THEN (bench.business_clock(t.first_response_sla_stop_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 60.0 END AS sla_minutes,
    bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s) + 3600 AS due_clock
  FROM {{ conversations }} AS t
  LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(t.started_at AS DATE)
  LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(t.first_response_sla_stop_at AS DATE)
  WHERE t.is_inbound
),
deadline AS (
  SELECT sla.*, d.open_at + TO_SECONDS(sla.due_clock - d.cum_s) AS due_at
  FROM sla
  LEFT JOIN bench.office_hours AS d
    ON d.calendar = 'support_workspace' AND sla.due_clock > d.cum_s AND sla.due_clock <= d.cum_s + d.open_s
)
SELECT DATE_TRUNC('month', started_at) AS metric_time__month, COUNT(*) FILTER (WHERE due_at IS NOT NULL AND (first_human_reply_at IS NOT NULL OR first_close_at IS NOT NULL OR sla_minutes > 60)) AS first_response_sla_decided
FROM deadline
GROUP BY 1;

-- metric: first_response_sla_breach_rate
WITH sla AS (
  SELECT
    t.started_at,
    t.first_human_reply_at,
    t.first_close_at,
    CASE WHEN t.first_response_sla_stop_at >= t.started_at THEN (bench.business_clock(t.first_response_sla_stop_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s)) / 60.0 END AS sla_minutes,
    bench.business_clock(t.started_at, s.open_at, s.close_at, s.cum_s) + 3600 AS due_clock
  FROM {{ conversations }} AS t
  LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(t.started_at AS DATE)
  LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(t.first_response_sla_stop_at AS DATE)
  WHERE t.is_inbound
),
deadline AS (
  SELECT sla.*, d.open_at + TO_SECONDS(sla.due_clock - d.cum_s) AS due_at
  FROM sla
  LEFT JOIN bench.office_hours AS d
    ON d.calendar = 'support_workspace' AND sla.due_clock > d.cum_s AND sla.due_clock <= d.cum_s + d.open_s
)
SELECT DATE_TRUNC('month', started_at) AS metric_time__month, CAST(COUNT(*) FILTER (WHERE due_at IS NOT NULL AND (first_human_reply_at IS NOT NULL OR first_close_at IS NOT NULL OR sla_minutes > 60) AND sla_minutes > 60) AS DOUBLE) / NULLIF(COUNT(*) FILTER (WHERE due_at IS NOT NULL AND (first_human_reply_at IS NOT NULL OR first_close_at IS NOT NULL OR sla_minutes > 60)), 0) AS first_response_sla_breach_rate
FROM deadline
GROUP BY 1;

-- metric: office_hours_reconciled_conversations
-- Reconciliation with Intercom's own office-hours statistics (statistics_time_to_*, seconds), read
-- from the current conversation_history rows (the `intercom_statistics` model: the latest row of each
-- conversation): the business seconds between the same instants.
WITH conversation AS (
  SELECT * FROM {{ intercom_statistics }}
)
SELECT DATE_TRUNC('month', statistics_first_contact_reply_at) AS metric_time__month, COUNT(statistics_time_to_admin_reply) AS office_hours_reconciled_conversations
FROM conversation
GROUP BY 1;

-- metric: office_hours_admin_reply_mismatches
WITH conversation AS (
  SELECT * FROM {{ intercom_statistics }}
)
SELECT DATE_TRUNC('month', c.statistics_first_contact_reply_at) AS metric_time__month, COUNT(*) FILTER (WHERE c.statistics_time_to_admin_reply IS NOT NULL AND (CASE WHEN c.statistics_first_admin_reply_at >= c.statistics_first_contact_reply_at THEN (bench.business_clock(c.statistics_first_admin_reply_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(c.statistics_first_contact_reply_at, s.open_at, s.close_at, s.cum_s)) END) IS DISTINCT FROM c.statistics_time_to_admin_reply) AS office_hours_admin_reply_mismatches
FROM conversation AS c
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(c.statistics_first_contact_reply_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(c.statistics_first_admin_reply_at AS DATE)
GROUP BY 1;

-- metric: office_hours_first_close_mismatches
WITH conversation AS (
  SELECT * FROM {{ intercom_statistics }}
)
SELECT DATE_TRUNC('month', c.statistics_first_contact_reply_at) AS metric_time__month, COUNT(*) FILTER (WHERE c.statistics_time_to_first_close IS NOT NULL AND (CASE WHEN c.statistics_first_close_at >= c.statistics_first_contact_reply_at THEN (bench.business_clock(c.statistics_first_close_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(c.statistics_first_contact_reply_at, s.open_at, s.close_at, s.cum_s)) END) IS DISTINCT FROM c.statistics_time_to_first_close) AS office_hours_first_close_mismatches
FROM conversation AS c
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(c.statistics_first_contact_reply_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(c.statistics_first_close_at AS DATE)
GROUP BY 1;

-- metric: office_hours_last_close_mismatches
WITH conversation AS (
  SELECT * FROM {{ intercom_statistics }}
)
SELECT DATE_TRUNC('month', c.statistics_first_contact_reply_at) AS metric_time__month, COUNT(*) FILTER (WHERE c.statistics_time_to_last_close IS NOT NULL AND (CASE WHEN c.statistics_last_close_at >= c.statistics_first_contact_reply_at THEN (bench.business_clock(c.statistics_last_close_at, e.open_at, e.close_at, e.cum_s) - bench.business_clock(c.statistics_first_contact_reply_at, s.open_at, s.close_at, s.cum_s)) END) IS DISTINCT FROM c.statistics_time_to_last_close) AS office_hours_last_close_mismatches
FROM conversation AS c
LEFT JOIN bench.office_hours AS s ON s.calendar = 'support_workspace' AND s.day = CAST(c.statistics_first_contact_reply_at AS DATE)
LEFT JOIN bench.office_hours AS e ON e.calendar = 'support_workspace' AND e.day = CAST(c.statistics_last_close_at AS DATE)
GROUP BY 1;

-- metric: tagged_conversations
SELECT DATE_TRUNC('month', g.created_at) AS metric_time__month, COUNT(DISTINCT g.conversation_id) AS tagged_conversations
FROM {{ conversation_tags }} AS g
JOIN {{ conversations }} AS c ON c.conversation_id = g.conversation_id
WHERE c.is_inbound
GROUP BY 1;

-- metric: tagged_mature_conversations
SELECT DATE_TRUNC('month', g.created_at) AS metric_time__month, COUNT(DISTINCT g.conversation_id) AS tagged_mature_conversations
FROM {{ conversation_tags }} AS g
JOIN {{ conversations }} AS c ON c.conversation_id = g.conversation_id
WHERE c.is_inbound
  AND c.is_resolution_mature
GROUP BY 1;

-- metric: tagged_resolved_conversations
SELECT DATE_TRUNC('month', g.created_at) AS metric_time__month, COUNT(DISTINCT g.conversation_id) AS tagged_resolved_conversations
FROM {{ conversation_tags }} AS g
JOIN {{ conversations }} AS c ON c.conversation_id = g.conversation_id
WHERE c.is_inbound
  AND c.is_resolution_mature
  AND c.is_resolved
GROUP BY 1;

-- metric: tag_resolution_rate
-- A month without a resolved tagged conversation has no numerator row: NULL, as tally's ratio.
SELECT DATE_TRUNC('month', g.created_at) AS metric_time__month,
  CAST(NULLIF(COUNT(DISTINCT g.conversation_id) FILTER (WHERE c.is_resolved), 0) AS DOUBLE)
    / NULLIF(COUNT(DISTINCT g.conversation_id), 0) AS tag_resolution_rate
FROM {{ conversation_tags }} AS g
JOIN {{ conversations }} AS c ON c.conversation_id = g.conversation_id
WHERE c.is_inbound
  AND c.is_resolution_mature
GROUP BY 1;
