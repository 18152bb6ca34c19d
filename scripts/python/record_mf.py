"""Records MetricFlow's answers to an example's queries (run by scripts/record-mf).

    python record_mf.py EXAMPLE_DIR VENV_DIR

Copies EXAMPLE_DIR into a temporary directory (without target/, logs/ and expected/), builds it
with the venv's dbt (`dbt seed`, `dbt run`, `dbt parse`), runs `mf query ... --csv FILE` for every
query of EXAMPLE_DIR/queries.yml and writes EXAMPLE_DIR/expected/<name>.csv as mf wrote it, with
its rows sorted as text when the query has no `order`. Any failure (dbt, or mf rejecting a query)
stops the script with the tool's output.
"""

import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

SKIP_NAMES = {"target", "logs", "expected", "dbt_packages", ".user.yml"}
SKIP = shutil.ignore_patterns(*SKIP_NAMES)


def example_hash(example):
    """FNV-1a (64 bits) over the example's files (relative path, NUL, content, NUL; sorted by path),
    without what dbt writes and the answers: tests/dbt_examples.rs computes the
    same to tell when the answers are older than the example."""
    files = []
    for path in example.rglob("*"):
        rel = path.relative_to(example)
        if any(part in SKIP_NAMES for part in rel.parts) or not path.is_file():
            continue
        files.append(("/".join(rel.parts), path))
    h = 0xCBF29CE484222325
    for rel, path in sorted(files):
        for chunk in (rel.encode(), b"\0", path.read_bytes(), b"\0"):
            for byte in chunk:
                h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def versions(venv):
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True, text=True, check=True,
    ).stdout
    keep = ("dbt-core", "dbt-duckdb", "dbt-metricflow", "metricflow")
    return ", ".join(l for l in out.splitlines() if l.split("==")[0].lower() in keep)


def run(cmd, cwd, env):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(f"record-mf: `{' '.join(cmd)}` failed ({proc.returncode}):\n")
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        sys.exit(1)
    return proc


def sorted_rows(text):
    """mf's CSV with its rows sorted (as text), so that refreshing the answer of a query without an
    order changes no file when the answer is the same. Written back with the csv module's defaults,
    as mf writes it (checked: the round trip must give mf's bytes back)."""
    rows = list(csv.reader(io.StringIO(text, newline="")))

    def dump(rows):
        buf = io.StringIO(newline="")
        csv.writer(buf).writerows(rows)
        return buf.getvalue()

    if dump(rows) != text:
        sys.stderr.write("record-mf: mf's CSV does not round-trip through the csv module\n")
        sys.exit(1)
    return dump(rows[:1] + sorted(rows[1:]))


def mf_args(query):
    """The `mf query` flags of one query of queries.yml."""
    args = []
    if "saved_query" in query:
        args += ["--saved-query", query["saved_query"]]
    if query.get("metrics"):
        args += ["--metrics", ",".join(query["metrics"])]
    if query.get("group_by"):
        args += ["--group-by", ",".join(query["group_by"])]
    for where in query.get("where", []):
        args += ["--where", where]
    if query.get("order"):
        args += ["--order", ",".join(query["order"])]
    if "limit" in query:
        args += ["--limit", str(query["limit"])]
    if "start_time" in query:
        args += ["--start-time", str(query["start_time"])]
    if "end_time" in query:
        args += ["--end-time", str(query["end_time"])]
    return args


def main():
    example = Path(sys.argv[1]).resolve()
    venv = Path(sys.argv[2]).resolve()
    spec = yaml.safe_load((example / "queries.yml").read_text())
    expected = example / "expected"
    with tempfile.TemporaryDirectory(prefix="record-mf-") as tmp:
        project = Path(tmp) / example.name
        shutil.copytree(example, project, ignore=SKIP)
        env = dict(os.environ, DBT_PROFILES_DIR=str(project), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        for step in (["dbt", "seed"], ["dbt", "run"], ["dbt", "parse"]):
            print(f"record-mf: {example.name}: {' '.join(step)}", file=sys.stderr)
            run([str(venv / "bin" / step[0])] + step[1:], project, env)
        if expected.exists():
            shutil.rmtree(expected)
        expected.mkdir()
        for query in spec["queries"]:
            out = Path(tmp) / f"{query['name']}.csv"
            args = [str(venv / "bin" / "mf"), "query", "--quiet"] + mf_args(query) + ["--csv", str(out)]
            print(f"record-mf: {example.name}: {query['name']}", file=sys.stderr)
            proc = run(args, project, env)
            if not out.exists():
                sys.stderr.write(f"record-mf: mf wrote no CSV for {query['name']}:\n{proc.stdout}{proc.stderr}")
                sys.exit(1)
            with open(out, newline="") as f:
                text = f.read()
            if not query.get("order"):
                text = sorted_rows(text)
            with open(expected / f"{query['name']}.csv", "w", newline="") as f:
                f.write(text)
    (expected / "RECORDED_FROM").write_text(
        "# Written by scripts/record-mf: the hash of the example's files these answers were recorded\n"
        "# from (checked by tests/dbt_examples.rs) and the tools that answered.\n"
        f"fnv1a64 {example_hash(example)}\n"
        f"tools {versions(venv)}\n"
    )
    print(f"record-mf: {example.name}: {len(spec['queries'])} answers in {expected}", file=sys.stderr)


if __name__ == "__main__":
    main()
