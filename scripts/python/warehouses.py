#!/usr/bin/env python3
"""Runs tally's warehouse SQL on engines of each warehouse's family.

    warehouses.py BUNDLE.json RESULTS.json

Called by crates/tally-conformance/tests/warehouses.rs, which writes the bundle (input tables as CSV files
with their DuckDB column types, and statements: check, query id, SQL) and compares the rows this
script writes back with DuckDB's by the conformance runner's rules. This script only executes or
parses; it judges nothing. Progress goes to standard error, timings to standard output. Checks:

  spark            Databricks SQL on Apache Spark in local mode (one session for every statement)
  fakesnow         Snowflake SQL on the fakesnow emulator
  snowflake-rules  rules Snowflake enforces that the emulator lets through (sqlglot's syntax tree)
  bigquery         BigQuery SQL transpiled to DuckDB by sqlglot, run on DuckDB
  trino, redshift  parsed by sqlglot

Each result is {"check", "id", "error"} or {"check", "id", "columns", "rows"}; cells are JSON
scalars, {"ts": "YYYY-MM-DD HH:MM:SS.ffffff"} for dates and timestamps (UTC) and {"float": "nan"}
for non-finite numbers.
"""

import datetime
import decimal
import json
import math
import os
import sys
import time

# Snowflake rejects these without an ORDER BY in their window ("rank-related functions").
RANK_RELATED = (
    "RowNumber",
    "Rank",
    "DenseRank",
    "PercentRank",
    "CumeDist",
    "Ntile",
    "Lag",
    "Lead",
    "FirstValue",
    "LastValue",
    "NthValue",
)


def encode(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else {"float": repr(v)}
    if isinstance(v, decimal.Decimal):
        return encode(float(v))
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return {"ts": v.isoformat(sep=" ")}
    if isinstance(v, datetime.date):
        return {"ts": v.isoformat()}
    return str(v)


def first_line(e):
    text = str(e).strip()
    return text.splitlines()[0][:400] if text else type(e).__name__


class Timer:
    def __init__(self, check):
        self.check = check
        self.start = time.monotonic()
        self.setup = None
        self.slowest = (0.0, "")
        self.count = 0

    def ready(self):
        self.setup = time.monotonic() - self.start

    def statement(self, sid, seconds):
        self.count += 1
        if seconds > self.slowest[0]:
            self.slowest = (seconds, sid)

    def report(self):
        total = time.monotonic() - self.start
        setup = f"{self.setup:.1f} s setup, " if self.setup is not None else ""
        slow = f", slowest {self.slowest[0]:.1f} s ({self.slowest[1]})" if self.count else ""
        print(f"{self.check}: {self.count} statements in {total:.1f} s ({setup}{slow.lstrip(', ')})", flush=True)


def run_all(check, statements, execute):
    """Runs `execute(sql) -> (columns, rows)` on each statement; returns the results."""
    timer = Timer(check)
    results = []
    for n, st in enumerate(statements):
        if n and n % 50 == 0:
            print(f"{check}: {n}/{len(statements)} after {time.monotonic() - timer.start:.0f} s", file=sys.stderr, flush=True)
        t = time.monotonic()
        try:
            columns, rows = execute(st["sql"])
            results.append(
                {
                    "check": check,
                    "id": st["id"],
                    "columns": list(columns),
                    "rows": [[encode(v) for v in row] for row in rows],
                }
            )
        except Exception as e:  # the engine's error is the result
            results.append({"check": check, "id": st["id"], "error": first_line(e)})
        timer.statement(st["id"], time.monotonic() - t)
    return timer, results


# ------------------------------------------------------------------------------------------------
# DuckDB (the tables in their own types), for fakesnow and the BigQuery emulation
# ------------------------------------------------------------------------------------------------


def duck_literal(s):
    return "'" + s.replace("'", "''") + "'"


def duck_ident(s):
    return '"' + s.replace('"', '""') + '"'


def duck_load(conn, tables, null_mark, catalog=None, upper=False):
    """Creates each table from its CSV file with its DuckDB column types."""
    name = (lambda s: s.upper()) if upper else (lambda s: s)
    for schema in sorted({t["schema"] for t in tables}):
        qualified = (duck_ident(catalog) + "." if catalog else "") + duck_ident(name(schema))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified}")
    for t in tables:
        columns = ", ".join(f"{duck_literal(c)}: {duck_literal(ty)}" for c, ty in t["columns"])
        target = ".".join(
            ([duck_ident(catalog)] if catalog else []) + [duck_ident(name(t["schema"])), duck_ident(name(t["table"]))]
        )
        select = ", ".join(f"{duck_ident(c)} AS {duck_ident(name(c))}" for c, _ in t["columns"])
        conn.execute(
            f"CREATE TABLE {target} AS SELECT {select} FROM read_csv({duck_literal(t['csv'])}, header = false, "
            f"nullstr = {duck_literal(null_mark)}, quote = '\"', escape = '\"', columns = {{{columns}}}, auto_detect = false)"
        )


# ------------------------------------------------------------------------------------------------
# Spark
# ------------------------------------------------------------------------------------------------

SPARK_TYPES = {
    "VARCHAR": "STRING",
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "INTEGER": "INT",
    "BIGINT": "BIGINT",
    "HUGEINT": "DECIMAL(38, 0)",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
}


def spark_type(duck):
    t = duck.upper()
    if t.startswith("DECIMAL"):
        return t
    if t not in SPARK_TYPES:
        raise ValueError(f"no Spark type for DuckDB's {duck}")
    return SPARK_TYPES[t]


def spark_ident(s):
    return "`" + s.replace("`", "``") + "`"


def spark_literal(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def check_spark(bundle, statements, workdir):
    from pyspark.sql import SparkSession

    timer_start = time.monotonic()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("tally-warehouses")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.warehouse.dir", os.path.join(workdir, "spark-warehouse"))
        # Spark's scratch space (shuffle and block files) in the test's directory, not /tmp.
        .config("spark.local.dir", os.path.join(workdir, "spark-local"))
        # The driver is the whole of local mode. Spark's default heap (1 GB) ran out on a median over
        # the Intercom project's parts in one CI run: G1 gave up on a 4 MB array after its default two
        # retries while native code held the GC locker ("Retried waiting for GCLocker too often") and
        # the query failed with an OutOfMemoryError. A 2 GB heap, and retrying instead of failing.
        .config("spark.driver.memory", "2g")
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dderby.system.home={workdir} -Duser.timezone=UTC "
            "-XX:+UnlockDiagnosticVMOptions -XX:GCLockerRetryAllocationCount=100",
        )
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for schema in sorted({t["schema"] for t in bundle["tables"]}):
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {spark_ident(schema)}")
        for t in bundle["tables"]:
            raw = f"{spark_ident(t['schema'])}.{spark_ident(t['table'] + '__csv')}"
            cols = ", ".join(f"{spark_ident(c)} STRING" for c, _ in t["columns"])
            spark.sql(
                f"CREATE TABLE {raw} ({cols}) USING csv OPTIONS (path {spark_literal(t['csv'])}, "
                f"nullValue {spark_literal(bundle['null_mark'])}, header 'false', escape '\"', multiLine 'true')"
            )
            casts = ", ".join(
                f"CAST({spark_ident(c)} AS {spark_type(ty)}) AS {spark_ident(c)}" for c, ty in t["columns"]
            )
            # Written once as Parquet: every statement reads typed columns, not the CSV text.
            spark.sql(
                f"CREATE TABLE {spark_ident(t['schema'])}.{spark_ident(t['table'])} USING parquet "
                f"AS SELECT {casts} FROM {raw}"
            )

        def execute(sql):
            df = spark.sql(sql)
            return df.columns, [tuple(r) for r in df.collect()]

        setup = time.monotonic() - timer_start
        timer, results = run_all("spark", statements, execute)
        timer.start = timer_start
        timer.setup = setup
        return timer, results
    finally:
        spark.stop()


# ------------------------------------------------------------------------------------------------
# Snowflake: fakesnow, and the rules it does not enforce
# ------------------------------------------------------------------------------------------------


def check_fakesnow(bundle, statements, workdir):
    import fakesnow
    import snowflake.connector

    start = time.monotonic()
    with fakesnow.patch():
        conn = snowflake.connector.connect(database="tally", schema="public")
        duck_load(conn._duck_conn, bundle["tables"], bundle["null_mark"], catalog="TALLY", upper=True)
        cur = conn.cursor()

        def execute(sql):
            cur.execute(sql)
            rows = cur.fetchall()
            return [d.name for d in cur.description], rows

        setup = time.monotonic() - start
        timer, results = run_all("fakesnow", statements, execute)
        timer.start = start
        timer.setup = setup
        conn.close()
        return timer, results


def snowflake_rule_errors(sql):
    import sqlglot
    from sqlglot import expressions as exp

    errors = []
    for tree in sqlglot.parse(sql, read="snowflake"):
        if tree is None:
            continue
        for w in tree.find_all(exp.Window):
            func = w.this
            if isinstance(func, (exp.IgnoreNulls, exp.RespectNulls)):
                func = func.this
            name = type(func).__name__
            if name in RANK_RELATED and not w.args.get("order"):
                errors.append(
                    f"{func.sql(dialect='snowflake')} OVER (...) has no ORDER BY: Snowflake requires one for rank-related window functions"
                )
    return errors


def check_snowflake_rules(bundle, statements, workdir):
    # The rule still sees what it is for (a newer sqlglot could shape the tree differently).
    for bad in ("SELECT ROW_NUMBER() OVER () FROM t", "SELECT LAG(x) OVER (PARTITION BY y) FROM t"):
        if not snowflake_rule_errors(bad):
            raise RuntimeError(f"the snowflake-rules check does not flag {bad!r}")
    if snowflake_rule_errors("SELECT ROW_NUMBER() OVER (PARTITION BY y ORDER BY x) FROM t"):
        raise RuntimeError("the snowflake-rules check flags an ordered window")

    def execute(sql):
        errors = snowflake_rule_errors(sql)
        if errors:
            raise ValueError("; ".join(errors))
        return [], []

    return run_all("snowflake-rules", statements, execute)


# ------------------------------------------------------------------------------------------------
# BigQuery through sqlglot to DuckDB; Trino and Redshift parsed by sqlglot
# ------------------------------------------------------------------------------------------------


def check_bigquery(bundle, statements, workdir):
    import duckdb
    import sqlglot

    start = time.monotonic()
    conn = duckdb.connect()
    conn.execute("SET TimeZone = 'UTC'")
    duck_load(conn, bundle["tables"], bundle["null_mark"])

    def execute(sql):
        translated = sqlglot.transpile(sql, read="bigquery", write="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE)
        if len(translated) != 1:
            raise ValueError(f"{len(translated)} statements")
        cur = conn.execute(translated[0])
        return [d[0] for d in cur.description], cur.fetchall()

    setup = time.monotonic() - start
    timer, results = run_all("bigquery", statements, execute)
    timer.start = start
    timer.setup = setup
    conn.close()
    return timer, results


def check_parse(dialect):
    def check(bundle, statements, workdir):
        import sqlglot

        def execute(sql):
            trees = sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
            if len([t for t in trees if t is not None]) != 1:
                raise ValueError(f"{len(trees)} statements")
            return [], []

        return run_all(dialect, statements, execute)

    return check


CHECKS = {
    "spark": check_spark,
    "fakesnow": check_fakesnow,
    "snowflake-rules": check_snowflake_rules,
    "bigquery": check_bigquery,
    "trino": check_parse("trino"),
    "redshift": check_parse("redshift"),
}


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        bundle = json.load(f)
    workdir = os.path.dirname(os.path.abspath(sys.argv[2]))
    by_check = {}
    for st in bundle["statements"]:
        by_check.setdefault(st["check"], []).append(st)
    unknown = set(by_check) - set(CHECKS)
    if unknown:
        print(f"warehouses.py: unknown checks {sorted(unknown)}", file=sys.stderr)
        return 2
    results = []
    for check, statements in by_check.items():
        timer, rs = CHECKS[check](bundle, statements, workdir)
        timer.report()
        results.extend(rs)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(results, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
