"""The search benchmark's markdown report: set-up, one row per scenario, targets, plans."""

from __future__ import annotations

from dataclasses import dataclass

from harness import machine, markdown_table, percentiles, revision
from search_data import Built, Layout
from search_plans import plan_summary
from search_runs import BASELINE_SETTINGS, Run, service_settings
from search_sql import BUILD_SETTINGS, FILTER_KEY, FILTER_VALUE, LATENT_DIMS

DATA = {
    "random": "random unit vectors",
    "latent": f"{LATENT_DIMS}-d latent through a random basis + noise, normalised",
}
CLIENT_TEXT = {
    "raw": "one plain keep-alive HTTP/1.1 connection per simulated client",
    "httpx": "one httpx.AsyncClient shared by the simulated clients",
}
TARGET_P50_MS = 10.0
TARGET_RECALL = 0.95
TARGET_THROUGHPUT = 200.0
THROUGHPUT_AT = 8
FILTER = f"{FILTER_KEY}={FILTER_VALUE}"
HEADERS = (
    "scenario",
    "concurrency",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "searches/s",
    "recall@10",
    "results/search",
    "errors",
    "server CPU ms/search",
    "PostgreSQL CPU ms/search",
    "client CPU ms/search",
    "load (1 min) at end",
)
LABELS = {
    "vector": "API vector (ranker none)",
    "filtered": f"API vector + 1 % filter {FILTER}",
    "small": "API vector, small store",
    "keyword": "API keyword",
    "hybrid": "API hybrid (default ranker)",
    "hybrid-filtered": f"API hybrid + 1 % filter {FILTER}",
    "sql-vector": "SQL baseline vector",
    "sql-filtered": f"SQL baseline + 1 % filter {FILTER}",
    "tuned-vector": "SQL, server's HNSW settings, vector",
    "tuned-filtered": f"SQL, server's HNSW settings + 1 % filter {FILTER}",
}


@dataclass(frozen=True)
class Measured:
    api: list[Run]
    sql: list[Run]
    recall: dict[str, float]
    plans: dict[str, list[str]]
    baseline_plans: dict[str, list[str]]
    versions: str


def _row(run: Run, recalls: dict[str, float]) -> list[object]:
    p50, p95, p99 = percentiles(run.latencies_ms)
    recall = recalls.get(run.scenario)
    return [
        LABELS[run.scenario],
        run.concurrency,
        f"{p50:.1f}",
        f"{p95:.1f}",
        f"{p99:.1f}",
        f"{run.throughput:.0f}",
        f"{recall:.3f}" if recall is not None else "n/a",
        f"{run.mean_results:.1f}",
        run.errors,
        *_cpu(run),
        f"{run.load:.1f}",
    ]


def _cpu(run: Run) -> list[str]:
    cpu = run.cpu_ms_per_search()
    return ["n/a"] * 3 if cpu is None else [f"{ms:.1f}" for ms in cpu]


def _setup(layout: Layout, built: Built, versions: str, workers: int, client: str) -> list[str]:
    rate = layout.chunks / built.build_seconds if built.build_seconds else 0.0
    settings = _settings(BUILD_SETTINGS)
    earlier = " (measured when the kept data set was loaded)" if built.reused else ""
    return [
        f"- machine: {machine()}; {versions}; code {revision()}",
        f"- data: N={layout.chunks} chunks, dims={layout.dims} (halfvec, {DATA[layout.data]}), "
        f"{layout.stores} stores; searched store {layout.target_chunks} chunks, "
        f"{built.filtered_chunks} of them with {FILTER}; small store {layout.small_chunks} chunks",
        f"- load {built.load_seconds:.0f} s; HNSW build (m=16, ef_construction=64, {settings}) "
        f"**{built.build_seconds:.0f} s** ({rate:.0f} rows/s){earlier}",
        f"- index {built.index_mb:.0f} MB; table {built.table_mb:.0f} MB (heap + TOAST)",
        f"- server: `serve --workers {workers}`, SEARCH_* settings at their defaults; embeddings "
        "from a local fake OpenAI server; every timed query text is new to the server's "
        "query cache",
        f"- load generator: `--client {client}` ({CLIENT_TEXT[client]}), in the bench's own "
        "process on the same cores; its CPU per search is the `client CPU` column",
        "- SQL rows: the top-10 statement alone on one asyncpg connection, no API; baseline "
        f"at pgvector's defaults ({_settings(BASELINE_SETTINGS)}), then with the server's "
        "per-search settings for the searched store "
        f"({_settings(service_settings(layout.target_chunks))})",
    ]


def _settings(values: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _targets(measured: Measured) -> list[str]:
    first = {(r.scenario, r.concurrency): r for r in measured.api}
    lines = ["", "Targets (stated for 100k chunks):"]
    single = first.get(("vector", 1))
    if single is not None:
        p50 = percentiles(single.latencies_ms)[0]
        lines.append(
            f"- p50 ≤ {TARGET_P50_MS:.0f} ms (API vector, concurrency 1): "
            f"{p50:.1f} ms — {_verdict(p50 <= TARGET_P50_MS)}"
        )
    for key in ("vector", "filtered", "small"):
        value = measured.recall[key]
        lines.append(
            f"- recall@10 ≥ {TARGET_RECALL} ({LABELS[key]}): {value:.3f} — "
            f"{_verdict(value >= TARGET_RECALL)}"
        )
    busy = first.get(("vector", THROUGHPUT_AT))
    if busy is not None:
        lines.append(
            f"- ≥ {TARGET_THROUGHPUT:.0f} searches/s at concurrency {THROUGHPUT_AT} "
            f"(API vector): {busy.throughput:.0f} — "
            f"{_verdict(busy.throughput >= TARGET_THROUGHPUT)}"
        )
    return lines


def _plans(measured: Measured) -> list[str]:
    lines = ["", "Plans (EXPLAIN ANALYZE, one recall query):"]
    for name, plan in measured.baseline_plans.items():
        lines.append(f"- {LABELS[name]}: {plan_summary(plan)}")
    for name, plan in measured.plans.items():
        lines.append(f"- {LABELS[name]}, the service's own SQL: {plan_summary(plan)}")
    for name, plan in measured.plans.items():
        lines += ["", f"{LABELS[name]}, the service's own SQL:", "", "```", *plan, "```"]
    return lines


def render(layout: Layout, built: Built, measured: Measured, workers: int, client: str) -> str:
    rows = [_row(run, measured.recall) for run in [*measured.api, *measured.sql]]
    lines = [f"## Search benchmark ({layout.chunks} chunks, {layout.data} vectors)", ""]
    lines += _setup(layout, built, measured.versions, workers, client)
    lines += ["", markdown_table(HEADERS, rows)]
    lines += _targets(measured) + _plans(measured)
    return "\n".join(lines)
