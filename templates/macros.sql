{#- tally's dialect macro library: the base definitions (ANSI SQL / DuckDB).
    Dialect overrides live in dialects/<dialect>.sql and replace a macro of the same name.
    A project can add or override macros in its own templates/ directory.
    Every macro takes SQL expressions as strings: {{ dateadd('day', 7, 'first_close_at') }}. -#}

{%- macro dateadd(unit, count, expr) -%}
({{ expr }} + INTERVAL ({{ count }}) {{ unit }})
{%- endmacro -%}

{%- macro datediff(unit, start, end) -%}
DATE_DIFF('{{ unit }}', {{ start }}, {{ end }})
{%- endmacro -%}

{%- macro epoch_seconds(expr) -%}
EPOCH({{ expr }})
{%- endmacro -%}

{%- macro seconds_between(start, end) -%}
(EPOCH({{ end }}) - EPOCH({{ start }}))
{%- endmacro -%}

{%- macro date_trunc(unit, expr) -%}
DATE_TRUNC('{{ unit }}', {{ expr }})
{%- endmacro -%}

{%- macro cast_timestamp(expr) -%}
CAST({{ expr }} AS TIMESTAMP)
{%- endmacro -%}

{%- macro cast_string(expr) -%}
CAST({{ expr }} AS VARCHAR)
{%- endmacro -%}

{%- macro cast_double(expr) -%}
CAST({{ expr }} AS DOUBLE)
{%- endmacro -%}

{%- macro safe_divide(numerator, denominator) -%}
(CAST({{ numerator }} AS DOUBLE) / NULLIF(CAST({{ denominator }} AS DOUBLE), 0))
{%- endmacro -%}

{%- macro bool_or(expr) -%}
BOOL_OR({{ expr }})
{%- endmacro -%}

{%- macro bool_and(expr) -%}
BOOL_AND({{ expr }})
{%- endmacro -%}

{%- macro current_row(partition_by, order_by) -%}
ROW_NUMBER() OVER (PARTITION BY {{ partition_by }} ORDER BY {{ order_by }} DESC) = 1
{%- endmacro -%}

{%- macro string_literal(value) -%}
'{{ value | replace("'", "''") }}'
{%- endmacro -%}
