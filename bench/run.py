"""Run every benchmark (`make bench`), or those named (`python bench/run.py bench_load ...`):
each prints JSON lines with engine_s, baseline_s and ratio (or peak_rss_mb and target_mb).

Each benchmark runs in its own Python process, so that none inherits another's caches,
threads or memory (the memory benchmark measures peaks). Progress goes to stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    names = names or sorted(p.stem for p in HERE.glob("bench_*.py"))
    unknown = [name for name in names if not (HERE / f"{name}.py").is_file()]
    if unknown:
        print(f"no such benchmark in {HERE}: {', '.join(unknown)}", file=sys.stderr)
        return 2
    failed = [name for name in names if subprocess.run([sys.executable, str(HERE / f"{name}.py")]).returncode]
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
