{#- BigQuery (GoogleSQL) overrides of templates/macros.sql. Time values in user SQL are TIMESTAMPs. -#}

{%- macro dateadd(unit, count, expr) -%}
{%- set u = unit | lower -%}
{%- if u in ('month', 'quarter', 'year') -%}
TIMESTAMP(DATETIME_ADD(DATETIME(CAST({{ expr }} AS TIMESTAMP)), INTERVAL {{ count }} {{ u | upper }}))
{%- elif u == 'week' -%}
TIMESTAMP_ADD(CAST({{ expr }} AS TIMESTAMP), INTERVAL ({{ count }}) * 7 DAY)
{%- else -%}
TIMESTAMP_ADD(CAST({{ expr }} AS TIMESTAMP), INTERVAL {{ count }} {{ u | upper }})
{%- endif -%}
{%- endmacro -%}

{#- The unit boundaries crossed, like DuckDB's DATE_DIFF (weeks are ISO weeks). -#}
{%- macro datediff(unit, start, end) -%}
{%- set u = unit | lower -%}
{%- if u in ('day', 'week', 'month', 'quarter', 'year') -%}
DATE_DIFF(CAST({{ end }} AS DATE), CAST({{ start }} AS DATE), {{ 'ISOWEEK' if u == 'week' else u | upper }})
{%- else -%}
TIMESTAMP_DIFF(TIMESTAMP_TRUNC(CAST({{ end }} AS TIMESTAMP), {{ u | upper }}), TIMESTAMP_TRUNC(CAST({{ start }} AS TIMESTAMP), {{ u | upper }}), {{ u | upper }})
{%- endif -%}
{%- endmacro -%}

{%- macro epoch_seconds(expr) -%}
(UNIX_MICROS(CAST({{ expr }} AS TIMESTAMP)) / 1000000)
{%- endmacro -%}

{%- macro seconds_between(start, end) -%}
((UNIX_MICROS(CAST({{ end }} AS TIMESTAMP)) - UNIX_MICROS(CAST({{ start }} AS TIMESTAMP))) / 1000000)
{%- endmacro -%}

{%- macro date_trunc(unit, expr) -%}
TIMESTAMP_TRUNC(CAST({{ expr }} AS TIMESTAMP), {{ 'ISOWEEK' if unit | lower == 'week' else unit | upper }})
{%- endmacro -%}

{%- macro cast_string(expr) -%}
CAST({{ expr }} AS STRING)
{%- endmacro -%}

{%- macro cast_double(expr) -%}
CAST({{ expr }} AS FLOAT64)
{%- endmacro -%}

{%- macro cast_integer(expr) -%}
CAST({{ expr }} AS INT64)
{%- endmacro -%}

{%- macro safe_divide(numerator, denominator) -%}
SAFE_DIVIDE(CAST({{ numerator }} AS FLOAT64), CAST({{ denominator }} AS FLOAT64))
{%- endmacro -%}

{%- macro bool_or(expr) -%}
LOGICAL_OR({{ expr }})
{%- endmacro -%}

{%- macro bool_and(expr) -%}
LOGICAL_AND({{ expr }})
{%- endmacro -%}

{#- Backslash escapes; a single quote is \'. -#}
{%- macro string_literal(value) -%}
'{{ value | replace("\\", "\\\\") | replace("'", "\\'") | replace("\n", "\\n") | replace("\r", "\\r") | replace("\t", "\\t") }}'
{%- endmacro -%}

{%- macro time_spine(start_date, end_date) -%}
SELECT date_day FROM UNNEST(GENERATE_DATE_ARRAY(CAST({{ string_literal(start_date) }} AS DATE), CAST({{ string_literal(end_date) }} AS DATE))) AS date_day
{%- endmacro -%}
