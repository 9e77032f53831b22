"""Turn the benchmarks' --json outputs into the Markdown tables of benchmarks/README.md.

python benchmarks/summarize.py results/ops.json results/mlp.json results/cnn.json > /tmp/tables.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def machine_md(m: dict) -> str:
    return "\n".join(
        [
            f"- date: {m['date']}",
            f"- machine: {m['cpu']} ({m.get('cpu_flags', '')}), nproc {m['nproc']}, RAM {m['ram_gib']} GiB ({m['platform']})",
            f"- python {m['python']}, numpy {m['numpy']} (BLAS: {m['blas']}, kernels {m.get('blas_core')}, "
            f"{m['blas_threads']} threads, found via {m['blas_threads_from']}), torch {m['torch']} "
            f"({m.get('torch_threads')} threads, {m.get('torch_cpu_capability')})",
        ]
    )


def tables_md(payload: dict) -> str:
    out = [f"### {payload['script']}", "", f"`{payload['command']}`", ""]
    if payload.get("clock") == "cpu":
        out += ["(times are the process's CPU time, `--clock cpu`, not wall time)", ""]
    if payload.get("quick"):
        out += ["**--quick smoke run: not meaningful numbers**", ""]
    for note in payload.get("notes", []):
        out.append(f"- {note}")
    out.append("")
    for entry in payload["results"].values():
        if not isinstance(entry, dict) or "impls" not in entry:
            continue
        unit = entry["unit"]
        out += [
            f"**{entry['title']}**",
            "",
            f"| | median ({unit}) | min | max | vs floor | vs torch |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, r in entry["impls"].items():
            samples = r["samples"]
            vf, vt = r.get("vs_numpy_floor"), r.get("vs_torch")
            vf_s = f"{vf['ratio']:.2f}x" if vf else "-"
            vt_s = f"{vt['ratio']:.2f}x" if vt else "-"
            out.append(f"| {name} | {fmt(r['median'])} | {fmt(min(samples))} | {fmt(max(samples))} | {vf_s} | {vt_s} |")
        out.append("")
    mem = payload["results"].get("memory")
    if mem:
        out += [
            f"Memory over {mem['steps']} tinygrad_ko MLP steps (GC off, after {mem['warmup_steps']} warm-up "
            f"steps): tracemalloc {mem['traced_growth_mib']:+.3f} MiB, RSS {mem['rss_growth_mib']:+.1f} MiB, "
            f"objects in reference cycles: {mem['cyclic_objects']}.",
            "",
        ]
    if payload.get("targets"):
        out += ["| target | value | limit | |", "|---|---:|---:|---|"]
        for t in payload["targets"]:
            value = "n/a" if t["value"] is None else f"{t['value']:.3g}{t['unit']}"
            out.append(f"| {t['name']} | {value} | {t['limit']:g}{t['unit']} | {t['status']} |")
        out.append("")
    return "\n".join(out)


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__)
        return 2
    payloads = [json.loads(Path(p).read_text()) for p in paths]
    print(machine_md(payloads[0]["machine"]))
    print()
    for p in payloads:
        print(tables_md(p))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
