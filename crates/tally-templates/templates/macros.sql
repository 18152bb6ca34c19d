{#- tally's dialect macro library: the base definitions (ANSI SQL / DuckDB).
    Dialect overrides live in dialects/<dialect>.sql (bigquery, databricks, duckdb, postgres,
    redshift, snowflake, trino) and replace a macro of the same name.
    Units are lower-case date parts: second, minute, hour, day, week, month, quarter, year.
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

{%- macro cast_date(expr) -%}
CAST({{ expr }} AS DATE)
{%- endmacro -%}

{%- macro cast_integer(expr) -%}
CAST({{ expr }} AS BIGINT)
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

{#- ----- Additions for source staging (used by the Intercom example project) --------------------- -#}

{#- fivetran_current(relation, key, order_by): a SELECT statement returning the current version of
    each row of a Fivetran history table: rows with COALESCE(_fivetran_active, TRUE) (the COALESCE
    keeps tables synced without history mode), then the latest `order_by` per `key`. Window
    functions in a derived table rather than QUALIFY, so that it runs on any ANSI database. The
    result carries one extra column, _tally_row_number (always 1).
    Use as a CTE body: `conversation AS ({{ fivetran_current('intercom.conversation_history') }})`. -#}
{%- macro fivetran_current(relation, key='id', order_by='updated_at') -%}
SELECT * FROM (SELECT _tally_src.*, ROW_NUMBER() OVER (PARTITION BY _tally_src.{{ key }} ORDER BY _tally_src.{{ order_by }} DESC) AS _tally_row_number FROM {{ relation }} AS _tally_src WHERE COALESCE(_tally_src._fivetran_active, TRUE)) AS _tally_versions WHERE _tally_row_number = 1
{%- endmacro -%}

{#- timestamp_literal(value): a timestamp constant from a 'YYYY-MM-DD HH:MM:SS' string, e.g. a
    project variable: {{ timestamp_literal(var('as_of')) }} -> CAST('2026-06-30 23:59:59' AS TIMESTAMP). -#}
{%- macro timestamp_literal(value) -%}
CAST({{ string_literal(value) }} AS TIMESTAMP)
{%- endmacro -%}

{#- greatest_not_null(a, b): the larger of two values, ignoring NULLs (NULL only when both are).
    GREATEST() ignores NULLs on DuckDB and PostgreSQL but returns NULL on Snowflake, BigQuery and
    MySQL, so it is spelled out as a CASE. -#}
{%- macro greatest_not_null(a, b) -%}
(CASE WHEN {{ a }} IS NULL THEN {{ b }} WHEN {{ b }} IS NULL THEN {{ a }} WHEN {{ a }} >= {{ b }} THEN {{ a }} ELSE {{ b }} END)
{%- endmacro -%}

{#- least_not_null(a, b): the smaller of two values, ignoring NULLs (see greatest_not_null). -#}
{%- macro least_not_null(a, b) -%}
(CASE WHEN {{ a }} IS NULL THEN {{ b }} WHEN {{ b }} IS NULL THEN {{ a }} WHEN {{ a }} <= {{ b }} THEN {{ a }} ELSE {{ b }} END)
{%- endmacro -%}

{#- as_boolean(condition): a condition as a BOOLEAN column that is never NULL (a NULL comparison is FALSE). -#}
{%- macro as_boolean(condition) -%}
(CASE WHEN {{ condition }} THEN TRUE ELSE FALSE END)
{%- endmacro -%}

{#- time_spine(start_date, end_date): a SELECT of one row per day from start_date to end_date
    (inclusive, 'YYYY-MM-DD' strings), in a DATE column `date_day`: the body of a time spine model. -#}
{%- macro time_spine(start_date, end_date) -%}
SELECT CAST(spine.d AS DATE) AS date_day FROM generate_series(CAST({{ string_literal(start_date) }} AS DATE), CAST({{ string_literal(end_date) }} AS DATE), INTERVAL '1 day') AS spine(d)
{%- endmacro -%}
