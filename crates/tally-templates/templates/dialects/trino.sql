{#- Trino overrides of templates/macros.sql. -#}

{%- macro dateadd(unit, count, expr) -%}
date_add('{{ unit | lower }}', {{ count }}, {{ expr }})
{%- endmacro -%}

{#- The unit boundaries crossed, like DuckDB's DATE_DIFF: whole units between the truncated times. -#}
{%- macro datediff(unit, start, end) -%}
date_diff('{{ unit | lower }}', date_trunc('{{ unit | lower }}', {{ start }}), date_trunc('{{ unit | lower }}', {{ end }}))
{%- endmacro -%}

{%- macro epoch_seconds(expr) -%}
(date_diff('millisecond', CAST('1970-01-01 00:00:00' AS TIMESTAMP), {{ expr }}) / 1000.0)
{%- endmacro -%}

{%- macro seconds_between(start, end) -%}
(date_diff('millisecond', {{ start }}, {{ end }}) / 1000.0)
{%- endmacro -%}

{%- macro time_spine(start_date, end_date) -%}
SELECT date_day FROM UNNEST(sequence(CAST({{ string_literal(start_date) }} AS DATE), CAST({{ string_literal(end_date) }} AS DATE), INTERVAL '1' DAY)) AS spine(date_day)
{%- endmacro -%}

{#- Trino's bare TIMESTAMP has milliseconds; TIMESTAMP(6) keeps microseconds, like the other warehouses. -#}
{%- macro cast_timestamp(expr) -%}
CAST({{ expr }} AS TIMESTAMP(6))
{%- endmacro -%}
