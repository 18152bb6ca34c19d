"""Drive `tally mcp` with the official MCP Python SDK (the `mcp` package dbt-mcp is built on),
over stdio and over streamable HTTP, the way a dbt-mcp client would.

Run by tests/mcp_python.rs:
    python mcp_client.py TALLY_BINARY PROJECT_DIR DUCKDB_FILE CONTRACT_JSON
Exits non-zero (with the reason) on the first failed check.
"""

import asyncio
import json
import re
import subprocess
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client

TALLY, PROJECT, DUCKDB, CONTRACT = sys.argv[1:5]
DBT_TOOLS = [
    "list_metrics",
    "list_saved_queries",
    "get_dimensions",
    "get_entities",
    "get_dimension_values",
    "query_metrics",
    "get_metrics_compiled_sql",
]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


async def exercise(session: ClientSession, transport: str) -> None:
    init = await session.initialize()
    check(init.serverInfo.name == "tally", f"server name: {init.serverInfo}")

    # tools/list against dbt-mcp's contract snapshot.
    contract = {t["name"]: t for t in json.load(open(CONTRACT))}
    tools = {t.name: t for t in (await session.list_tools()).tools}
    for name in DBT_TOOLS:
        check(name in tools, f"{name} is listed")
        have, want = tools[name], contract[name]
        check(have.title == want["title"], f"{name} title")
        check(have.description == want["description"], f"{name} description")
        check(have.outputSchema == want["output_schema"], f"{name} output schema")
        schema = dict(have.inputSchema)
        if name == "get_metrics_compiled_sql":
            props = dict(schema["properties"])
            check("dialect" in props, "dialect is offered")
            del props["dialect"]
            schema["properties"] = props
        check(schema == want["input_schema"], f"{name} input schema")
        check(have.annotations.readOnlyHint is True, f"{name} is read-only")
    extra = [n for n in tools if n not in DBT_TOOLS]
    check(all(n.startswith("tally_") for n in extra), f"tally's own tools are prefixed: {extra}")

    # The SDK validates structuredContent against each tool's output schema.
    listing = await session.call_tool("list_metrics", {})
    check(not listing.isError, f"list_metrics: {listing.content}")
    csv = listing.structuredContent["result"]
    # Over the response-size budget the listing says which column it dropped, in a `#` line first.
    if csv.startswith("# Note:"):
        check("list_metrics with `search`" in csv.split("\n", 1)[0], csv[:200])
        csv = csv.split("\n", 1)[1]
    check(csv.startswith("name,type,"), csv[:200])
    check(re.search(r"^csat,RATIO,", csv, re.M), "csat is listed")

    dims = await session.call_tool("get_dimensions", {"metrics": ["csat"]})
    names = [d["name"] for d in dims.structuredContent["result"]]
    check("metric_time" in names and "team__team_name" in names, f"dimensions: {names}")

    ents = await session.call_tool("get_entities", {"metrics": ["csat"]})
    check(not ents.isError and ents.structuredContent["result"], f"entities: {ents.content}")

    saved = await session.call_tool("list_saved_queries", {"search": "scorecard"})
    check(saved.structuredContent["result"][0]["name"] == "monthly_support_scorecard_by_team", "saved query")

    values = await session.call_tool("get_dimension_values", {"dimension": "team__team_name", "limit": 2})
    check(values.structuredContent["result"]["truncated"] is True, f"values: {values.structuredContent}")

    csat = await session.call_tool(
        "query_metrics",
        {
            "metrics": ["csat"],
            "group_by": [{"name": "metric_time", "type": "time_dimension", "grain": "MONTH"}],
            "order_by": [{"name": "metric_time", "descending": False}],
        },
    )
    check(not csat.isError, f"query_metrics: {csat.content}")
    rows = json.loads(csat.structuredContent["result"])
    check(len(rows) >= 6 and list(rows[0]) == ["metric_time__month", "csat"], f"rows: {rows[:2]}")
    months = [r["metric_time__month"] for r in rows]
    check(months == sorted(months), "ordered by month")

    sql = await session.call_tool(
        "get_metrics_compiled_sql", {"metrics": ["csat"], "group_by": ["metric_time__month"], "dialect": "snowflake"}
    )
    check("SELECT" in sql.structuredContent["result"].upper(), "compiled SQL")

    bad = await session.call_tool("query_metrics", {"metrics": ["csatt"]})
    check(bad.isError and "E0201" in bad.content[0].text and "did you mean `csat`" in bad.content[0].text, f"error: {bad.content}")

    print(f"{transport}: {len(tools)} tools, {len(rows)} months of CSAT, first {rows[0]}")


async def over_stdio() -> None:
    params = StdioServerParameters(command=TALLY, args=["--project", PROJECT, "mcp", "--duckdb", DUCKDB])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await exercise(session, "stdio")


async def over_http() -> None:
    proc = subprocess.Popen(
        [TALLY, "--project", PROJECT, "mcp", "--transport", "http", "--bind", "127.0.0.1:0", "--duckdb", DUCKDB, "--no-watch"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        for line in proc.stderr:
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                url = m.group(1) + "/mcp"
                break
        check(url, "tally mcp --transport http did not start")
        async with streamablehttp_client(url) as (read, write, _):
            async with ClientSession(read, write) as session:
                await exercise(session, "http")
    finally:
        proc.kill()
        proc.wait()


asyncio.run(over_stdio())
asyncio.run(over_http())
print("ok")
