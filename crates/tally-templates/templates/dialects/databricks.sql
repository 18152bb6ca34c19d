{#- Databricks (Spark SQL) overrides of templates/macros.sql. -#}

{%- macro dateadd(unit, count, expr) -%}
TIMESTAMPADD({{ unit | upper }}, {{ count }}, {{ expr }})
{%- endmacro -%}

{#- The unit boundaries crossed, like DuckDB's DATE_DIFF: whole units between the truncated times. -#}
{%- macro datediff(unit, start, end) -%}
TIMESTAMPDIFF({{ unit | upper }}, DATE_TRUNC('{{ unit | upper }}', {{ start }}), DATE_TRUNC('{{ unit | upper }}', {{ end }}))
{%- endmacro -%}

{%- macro epoch_seconds(expr) -%}
(UNIX_MICROS(CAST({{ expr }} AS TIMESTAMP)) / 1000000)
{%- endmacro -%}

{%- macro seconds_between(start, end) -%}
((UNIX_MICROS(CAST({{ end }} AS TIMESTAMP)) - UNIX_MICROS(CAST({{ start }} AS TIMESTAMP))) / 1000000)
{%- endmacro -%}

{%- macro cast_string(expr) -%}
CAST({{ expr }} AS STRING)
{%- endmacro -%}

{#- Backslash escapes; a single quote is \' (Spark reads 'it''s' as two adjacent literals). -#}
{%- macro string_literal(value) -%}
'{{ value | replace("\\", "\\\\") | replace("'", "\\'") | replace("\n", "\\n") | replace("\r", "\\r") | replace("\t", "\\t") }}'
{%- endmacro -%}

{%- macro time_spine(start_date, end_date) -%}
SELECT explode(sequence(CAST({{ string_literal(start_date) }} AS DATE), CAST({{ string_literal(end_date) }} AS DATE), INTERVAL 1 DAY)) AS date_day
{%- endmacro -%}
