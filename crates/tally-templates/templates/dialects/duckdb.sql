{#- DuckDB overrides: none needed; the base library (templates/macros.sql) is written in
    DuckDB-compatible SQL. -#}
