{#- Amazon Redshift overrides of templates/macros.sql. -#}

{%- macro dateadd(unit, count, expr) -%}
DATEADD({{ unit }}, {{ count }}, {{ expr }})
{%- endmacro -%}

{#- DATEDIFF counts the unit boundaries crossed, like DuckDB's DATE_DIFF. -#}
{%- macro datediff(unit, start, end) -%}
DATEDIFF({{ unit }}, {{ start }}, {{ end }})
{%- endmacro -%}

{%- macro epoch_seconds(expr) -%}
(DATEDIFF(microsecond, CAST('1970-01-01' AS TIMESTAMP), {{ expr }}) / 1000000.0)
{%- endmacro -%}

{%- macro seconds_between(start, end) -%}
(DATEDIFF(microsecond, {{ start }}, {{ end }}) / 1000000.0)
{%- endmacro -%}

{%- macro cast_double(expr) -%}
CAST({{ expr }} AS DOUBLE PRECISION)
{%- endmacro -%}

{%- macro safe_divide(numerator, denominator) -%}
(CAST({{ numerator }} AS DOUBLE PRECISION) / NULLIF(CAST({{ denominator }} AS DOUBLE PRECISION), 0))
{%- endmacro -%}

{#- Redshift reads backslash escapes in string literals. -#}
{%- macro string_literal(value) -%}
'{{ value | replace("\\", "\\\\") | replace("'", "''") }}'
{%- endmacro -%}

{#- Redshift has no row generator on compute nodes: 100,000 day numbers from five digit tables. -#}
{%- macro time_spine(start_date, end_date) -%}
SELECT date_day FROM (SELECT CAST(DATEADD(day, d1.n + 10 * d2.n + 100 * d3.n + 1000 * d4.n + 10000 * d5.n, CAST({{ string_literal(start_date) }} AS DATE)) AS DATE) AS date_day FROM
{%- for i in range(1, 6) %} {% if i > 1 %}CROSS JOIN {% endif %}(SELECT 0 AS n{% for k in range(1, 10) %} UNION ALL SELECT {{ k }}{% endfor %}) AS d{{ i }}{% endfor -%}
) AS spine WHERE date_day <= CAST({{ string_literal(end_date) }} AS DATE)
{%- endmacro -%}
