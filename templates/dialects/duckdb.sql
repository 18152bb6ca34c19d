{#- DuckDB overrides: none needed; the base library is written in DuckDB-compatible SQL. -#}
