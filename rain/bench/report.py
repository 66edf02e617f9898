"""The readable tables printed after a benchmark (the JSON holds every number).

`python -m rain bench-report BENCH.json --markdown` prints them as the Markdown tables of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path
from typing import Callable, Sequence


def _fmt(value: object, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: list[str], rows: list[list[object]], markdown: bool = False) -> str:
    """Aligned plain-text columns, or a Markdown table."""
    cells = [headers] + [[_fmt(c) for c in row] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in cells]
        lines.insert(1, "|" + "---|" * len(headers))
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def end_to_end_table(modes: dict, tab: Callable = table) -> str:
    rows = []
    for mode, result in modes.items():
        for path in ("with_detection", "without_detection", "with_detection_overlap"):
            r = result.get(path)
            if not r:
                continue
            lat = r["latency_ms"]
            rows.append([mode, path, r["frames"], r["fps"], lat["p50"], lat["p95"], lat["max"],
                         r["ms_per_frame_first_window"], r["ms_per_frame_last_window"], _fmt(r["last_over_first"], 3),
                         r["rss_growth_mib"]])
    return tab(["mode", "conditions", "frames", "fps", "lat p50", "lat p95", "lat max", "ms/frame first",
                  "ms/frame last", "last/first", "RSS growth MiB"], rows)


def compare_table(compare: dict, tab: Callable = table) -> str:
    rows = []
    for name in ("pile", "chunked_window", "per_frame_no_temporal", "pile_no_temporal"):
        r = compare[name]
        rows.append([name, r["frames_per_call"], r["ms_per_frame"], r["first_frame_latency_ms"],
                     r["steady_latency_ms"]["p50"], r["steady_latency_ms"]["p95"], _fmt(r["flicker"], 3),
                     _fmt(r["flicker_over_pile"], 2)])
    return tab(["method", "frames/call", "ms/frame", "first-frame ms", "steady p50", "steady p95", "flicker",
                  "flicker/pile"], rows)


def stages_table(stages: dict[str, float], transport: dict | None, tab: Callable = table) -> str:
    rows = [[k, v, 100.0 * v / stages["total"] if stages["total"] else 0.0] for k, v in stages.items() if k != "total"]
    rows.append(["total push", stages["total"], 100.0])
    if transport:
        rows.append(["gradio round trip (extra)", transport["round_trip_ms"]["p50"], None])
    return tab(["stage", "ms/frame", "% of push"], rows)


def flops_table(flops: dict, tab: Callable = table) -> str:
    u = flops["unet"]
    rows = [["UNet (counted FLOPs)", u["flops_per_call"] / 1e9, u["achieved_flops_per_s"] / 1e9, None],
            ["fp32 matmul", None, flops["matmul_fp32"]["flops_per_s"] / 1e9, _fmt(flops["unet_over_matmul_fp32"], 3)]]
    if "matmul_bf16" in flops:
        rows.append(["bf16 matmul", None, flops["matmul_bf16"]["flops_per_s"] / 1e9,
                     _fmt(flops["unet_over_matmul_bf16"], 3)])
    return tab(["what", "GFLOP/call", "GFLOP/s", "UNet / this"], rows)


def render(result: dict, markdown: bool = False) -> str:
    """Every section of a bench JSON as tables (plain text for the terminal, or Markdown)."""
    tab = functools.partial(table, markdown=markdown)
    m = result["machine"]
    parts = [f"machine: {m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch threads, {m['precision']}",
             f"model: {result['model']}"]
    if result.get("modes"):
        parts += ["\n1-2. end to end through LiveSession.push (latency in ms)", end_to_end_table(result["modes"], tab)]
    if result.get("compare"):
        parts += ["\n3. same weights, same frames", compare_table(result["compare"], tab)]
    if result.get("flops"):
        parts += ["\n4. UNet FLOP/s", flops_table(result["flops"], tab)]
    if result.get("where_time_goes"):
        parts += ["\n5. where time goes (body, with detection)",
                  stages_table(result["where_time_goes"], result.get("gradio_transport"), tab)]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rain bench-report", description=__doc__)
    parser.add_argument("json", type=Path, help="a JSON written by `python -m rain bench`")
    parser.add_argument("--markdown", action="store_true", help="Markdown tables (for BENCHMARKS.md)")
    args = parser.parse_args(argv)
    print(render(json.loads(args.json.read_text()), args.markdown))  # noqa: T201 - CLI output
    return 0
