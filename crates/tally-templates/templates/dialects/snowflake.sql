{#- Snowflake overrides of templates/macros.sql. -#}

{%- macro dateadd(unit, count, expr) -%}
DATEADD({{ unit }}, {{ count }}, {{ expr }})
{%- endmacro -%}

{#- DATEDIFF counts the unit boundaries crossed, like DuckDB's DATE_DIFF. -#}
{%- macro datediff(unit, start, end) -%}
DATEDIFF({{ unit }}, {{ start }}, {{ end }})
{%- endmacro -%}

{%- macro epoch_seconds(expr) -%}
(DATE_PART(epoch_microsecond, {{ expr }}) / 1000000.0)
{%- endmacro -%}

{%- macro seconds_between(start, end) -%}
(DATEDIFF(microsecond, {{ start }}, {{ end }}) / 1000000.0)
{%- endmacro -%}

{#- Weeks start on Monday whatever the session's WEEK_START. -#}
{%- macro date_trunc(unit, expr) -%}
{%- if unit | lower == 'week' -%}
DATEADD(day, 1 - DAYOFWEEKISO({{ expr }}), DATE_TRUNC('day', {{ expr }}))
{%- else -%}
DATE_TRUNC('{{ unit }}', {{ expr }})
{%- endif -%}
{%- endmacro -%}

{%- macro bool_or(expr) -%}
BOOLOR_AGG({{ expr }})
{%- endmacro -%}

{%- macro bool_and(expr) -%}
BOOLAND_AGG({{ expr }})
{%- endmacro -%}

{#- Snowflake reads backslash escapes in single-quoted strings. -#}
{%- macro string_literal(value) -%}
'{{ value | replace("\\", "\\\\") | replace("'", "''") }}'
{%- endmacro -%}

{%- macro time_spine(start_date, end_date) -%}
SELECT date_day FROM (SELECT CAST(DATEADD(day, ROW_NUMBER() OVER (ORDER BY SEQ4()) - 1, CAST({{ string_literal(start_date) }} AS DATE)) AS DATE) AS date_day FROM TABLE(GENERATOR(ROWCOUNT => 100000))) AS spine WHERE date_day <= CAST({{ string_literal(end_date) }} AS DATE)
{%- endmacro -%}
