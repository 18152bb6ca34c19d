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
