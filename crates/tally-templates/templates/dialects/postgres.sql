{#- PostgreSQL overrides of templates/macros.sql. -#}

{%- macro dateadd(unit, count, expr) -%}
{%- if unit | lower == 'quarter' -%}
({{ expr }} + ({{ count }}) * INTERVAL '3 month')
{%- else -%}
({{ expr }} + ({{ count }}) * INTERVAL '1 {{ unit | lower }}')
{%- endif -%}
{%- endmacro -%}

{#- datediff counts the unit boundaries crossed from start to end, like DuckDB's DATE_DIFF. -#}
{%- macro datediff(unit, start, end) -%}
{%- set u = unit | lower -%}
{%- if u == 'day' -%}
(CAST({{ end }} AS DATE) - CAST({{ start }} AS DATE))
{%- elif u == 'week' -%}
((CAST(DATE_TRUNC('week', {{ end }}) AS DATE) - CAST(DATE_TRUNC('week', {{ start }}) AS DATE)) / 7)
{%- elif u == 'month' -%}
CAST((EXTRACT(year FROM {{ end }}) - EXTRACT(year FROM {{ start }})) * 12 + EXTRACT(month FROM {{ end }}) - EXTRACT(month FROM {{ start }}) AS BIGINT)
{%- elif u == 'quarter' -%}
CAST((EXTRACT(year FROM {{ end }}) - EXTRACT(year FROM {{ start }})) * 4 + EXTRACT(quarter FROM {{ end }}) - EXTRACT(quarter FROM {{ start }}) AS BIGINT)
{%- elif u == 'year' -%}
CAST(EXTRACT(year FROM {{ end }}) - EXTRACT(year FROM {{ start }}) AS BIGINT)
{%- else -%}
CAST(FLOOR(EXTRACT(EPOCH FROM DATE_TRUNC('{{ u }}', {{ end }}) - DATE_TRUNC('{{ u }}', {{ start }})) / {{ {'hour': 3600, 'minute': 60, 'second': 1}[u] }}) AS BIGINT)
{%- endif -%}
{%- endmacro -%}

{%- macro epoch_seconds(expr) -%}
EXTRACT(EPOCH FROM {{ expr }})
{%- endmacro -%}

{%- macro seconds_between(start, end) -%}
(EXTRACT(EPOCH FROM {{ end }}) - EXTRACT(EPOCH FROM {{ start }}))
{%- endmacro -%}

{%- macro cast_string(expr) -%}
CAST({{ expr }} AS TEXT)
{%- endmacro -%}

{%- macro cast_double(expr) -%}
CAST({{ expr }} AS DOUBLE PRECISION)
{%- endmacro -%}

{%- macro safe_divide(numerator, denominator) -%}
(CAST({{ numerator }} AS DOUBLE PRECISION) / NULLIF(CAST({{ denominator }} AS DOUBLE PRECISION), 0))
{%- endmacro -%}
