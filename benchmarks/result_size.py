"""Benchmark 2: how much of the raw API answer a tool result puts in front of the model.

Each case seeds fixed data into a manual-clock emulator, calls one tool through the in-memory MCP client, and
compares the summary (text content) and `structured_content` with the raw API bytes for the same data: whole
response bodies, envelope included, as the emulator sent them to the server's client:

- list: the `GET /cloud-functions` answer (a page of 20 of 25 functions);
- get: the `GET /cloud-functions/<uuid>` answer (a function with 20 jobs in every status);
- deploy: the create-job answer plus the last get-function answer (the upload and polling answers are reported
  as `all_api_bytes` but not counted: they carry nothing the result shows);
- invoke: the gateway's reply plus the get-function answer used to find the gateway URL.

The summary must also keep what the next step needs: each function uuid, job uuid (on the same line as its
status and, for get, its script CID, which a rollback needs), the job status, the next page, the CID, the HTTP
status and the reply.

Budgets: a summary takes at most 35% of the raw bytes, except where the result must carry more than the ids:
- get, 45%: each job line carries its script CID (46 B) and creation time (20 B), so that a model reading only
  the text can roll back (measured: 3,454 B, 43.9%; the same summary without CID and time is 2,014 B, 25.6%);
- deploy, 50%: the summary says what was checked before paying and where the CID came from (measured: 591 B, of
  which 140 B are the checks).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from mcp import Client
from mcp.types import CallToolResult

from benchmarks.harness import Sandbox, call
from benchmarks.profiles import Profile
from benchmarks.recording import Exchange, Recorder, recording_api
from benchmarks.report import Budget, Json, Outcome, Table
from benchmarks.seed import QUOTE_SCRIPT, add_functions, add_jobs_in_every_status
from benchmarks.sizes import ResultBytes, summary_text

BUDGET_PERCENT = 35.0
GET_BUDGET_PERCENT = 45.0
DEPLOY_BUDGET_PERCENT = 50.0
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CID = re.compile(r"Qm[1-9A-HJ-NP-Za-km-z]{44}|bafy[a-z2-7]{55}")
FUNCTIONS = 25
PAGE = 20
JOBS = 20


@dataclass(frozen=True)
class Case:
    name: str
    result: CallToolResult
    raw: Sequence[Exchange]
    """The API answers counted as the raw response."""
    everything: Sequence[Exchange]
    """Every API answer the tool read."""
    must_keep: Sequence[str]
    """What the next step needs: each entry's space-separated words must all appear on one line of the summary."""
    budget_percent: float = BUDGET_PERCENT

    @property
    def raw_bytes(self) -> int:
        return sum(len(exchange.body) for exchange in self.raw)

    def missing(self) -> list[str]:
        lines = summary_text(self.result).splitlines()
        return [need for need in self.must_keep if not any(all(w in line for w in need.split(" ")) for line in lines)]


async def run(profile: Profile) -> Outcome:
    cases = [await _list_case(), await _get_case()]
    notes: list[str] = []
    if shutil.which("node") is None:
        notes.append("deploy and invoke skipped: the emulator's gateway needs Node.js on PATH")
    else:
        cases.extend(await _deploy_and_invoke_cases())
    return _outcome(cases, notes)


def _recorded(sandbox: Sandbox) -> tuple[Client, Recorder]:
    """An in-memory MCP client whose server's API answers are recorded."""
    connect, recorder = recording_api(sandbox.state)
    return Client(sandbox.server(connect)), recorder


async def _list_case() -> Case:
    sandbox = Sandbox()
    functions = add_functions(sandbox.state, FUNCTIONS)
    client, recorder = _recorded(sandbox)
    async with client:
        result = await call(client, "list_cloud_functions", {"limit": PAGE})
    keep = [*(function.function_uuid for function in functions[:PAGE]), "page=2"]
    raw = recorder.find("GET", "/cloud-functions")
    return Case(f"list (page of {PAGE} functions)", result, raw, recorder.exchanges, keep)


async def _get_case() -> Case:
    sandbox = Sandbox()
    (function,) = add_functions(sandbox.state, 1, prefix="worker")
    jobs = add_jobs_in_every_status(sandbox.state, function.function_uuid, JOBS)
    client, recorder = _recorded(sandbox)
    async with client:
        result = await call(client, "get_cloud_function", {"function_uuid": function.function_uuid})
    # The state settled while answering: read each job's status now, as the result had to show it.
    settled = sandbox.state.jobs
    keep = [
        function.function_uuid,
        *(f"{job.job_uuid} {settled[job.job_uuid].job_status.name} cid={job.script_cid}" for job in jobs),
    ]
    raw = recorder.find("GET", f"/cloud-functions/{function.function_uuid}")[:1]
    return Case(f"get (function with {JOBS} jobs)", result, raw, recorder.exchanges, keep, GET_BUDGET_PERCENT)


async def _deploy_and_invoke_cases() -> list[Case]:
    sandbox = Sandbox()
    (function,) = add_functions(sandbox.state, 1, prefix="quotes")
    uuid = function.function_uuid
    client, recorder = _recorded(sandbox)
    async with client:
        deployed = await call(
            client,
            "deploy_cloud_function_script",
            {"function_uuid": uuid, "job_name": "quotes v1", "script_source": QUOTE_SCRIPT},
        )
        deploy_exchanges = recorder.take()
        invoked = await call(client, "invoke_cloud_function", {"function_uuid": uuid, "body": {"symbol": "ETH"}})
    invoke_exchanges = recorder.take()
    (job,) = [job for job in sandbox.state.jobs.values() if job.function_uuid == uuid]
    deploy_raw = [
        *[e for e in deploy_exchanges if e.method == "POST" and e.path == f"/cloud-functions/{uuid}/jobs"],
        *[e for e in deploy_exchanges if e.method == "GET" and e.path == f"/cloud-functions/{uuid}"][-1:],
    ]
    deploy_keep = [uuid, job.job_uuid, job.job_status.name, job.script_cid]
    gateway = [e for e in invoke_exchanges if e.path.startswith("/gateway/")]
    invoke_raw = [*[e for e in invoke_exchanges if e.path == f"/cloud-functions/{uuid}"], *gateway]
    reply = gateway[-1].body.decode() if gateway else "(no gateway reply)"
    return [
        Case("deploy (upload, job, wait)", deployed, deploy_raw, deploy_exchanges, deploy_keep, DEPLOY_BUDGET_PERCENT),
        Case("invoke (gateway call)", invoked, invoke_raw, invoke_exchanges, ["HTTP 200", reply]),
    ]


def _outcome(cases: list[Case], notes: list[str]) -> Outcome:
    outcome = Outcome(notes=notes)
    rows = []
    figures: list[dict[str, Json]] = []
    for case in cases:
        size = ResultBytes.of(case.result)
        summary_pct = 100 * size.summary / case.raw_bytes
        structured_pct = 100 * size.structured / case.raw_bytes
        missing = case.missing()
        rows.append(
            (
                case.name,
                case.raw_bytes,
                size.summary,
                f"{summary_pct:.1f}%",
                size.structured,
                f"{structured_pct:.1f}%",
                sum(len(e.body) for e in case.everything),
                len(case.must_keep) - len(missing),
                len(case.must_keep),
            )
        )
        figures.append(
            {
                "case": case.name,
                "raw_bytes": case.raw_bytes,
                "raw_responses": [f"{e.method} {e.path}" for e in case.raw],
                "summary_bytes": size.summary,
                "summary_percent_of_raw": round(summary_pct, 1),
                "budget_percent": case.budget_percent,
                "structured_bytes": size.structured,
                "structured_percent_of_raw": round(structured_pct, 1),
                "all_api_bytes": sum(len(e.body) for e in case.everything),
                "api_requests": len(case.everything),
                "kept": len(case.must_keep) - len(missing),
                "must_keep": len(case.must_keep),
                "missing": missing,
            }
        )
        within = summary_pct <= case.budget_percent
        outcome.budgets.append(
            Budget(
                f"result size: {case.name} summary vs raw",
                f"<= {case.budget_percent:.0f}%",
                f"{summary_pct:.1f}% ({size.summary} of {case.raw_bytes} B)",
                within,
                "" if within else _cause(case, size.summary),
            )
        )
        outcome.budgets.append(
            Budget(
                f"result size: {case.name} keeps ids and statuses",
                f"{len(case.must_keep)} of {len(case.must_keep)}",
                f"{len(case.must_keep) - len(missing)} of {len(case.must_keep)}",
                not missing,
                f"missing from the summary: {', '.join(missing)}" if missing else "",
            )
        )
    columns = ("case", "raw B", "summary B", "summary/raw", "structured B", "structured/raw", "all API B", "kept", "of")
    outcome.tables.append(Table("Result size (raw = whole API response bodies)", columns, rows))
    outcome.figures = {"budget_percent": BUDGET_PERCENT, "cases": figures}
    return outcome


def _cause(case: Case, summary_bytes: int) -> str:
    """Where the summary's bytes go: list lines, identifiers said twice, CIDs."""
    text = summary_text(case.result)
    allowed = int(case.raw_bytes * case.budget_percent / 100)
    items = [line for line in text.splitlines() if line.startswith("- ")]
    cids = _CID.findall(text)
    found = [*_UUID.findall(text), *cids]
    repeated = {value: count for value, count in Counter(found).items() if count > 1}
    repeated_bytes = sum(len(value) * (count - 1) for value, count in repeated.items())
    cid_bytes = sum(len(cid) for cid in cids)
    parts = [f"summary {summary_bytes} B, {summary_bytes - allowed} B over {allowed} B"]
    if items:
        parts.append(f"{len(items)} list lines of {sum(len(line) for line in items) // len(items)} B on average")
    if repeated:
        parts.append(f"{len(repeated)} identifiers repeated ({repeated_bytes} B)")
    if cid_bytes:
        parts.append(f"CIDs take {cid_bytes} B")
    return "; ".join(parts)
