"""Run every validation case and print the markdown table of docs/validation.md.

``python -m tests.validation.report`` (takes about a minute).
"""

from __future__ import annotations

import sys
import time

from tests.validation.cases import CASES


def main() -> None:
    rows, errs = [], []
    for c in CASES:
        t = time.perf_counter()
        p = float(c.run())
        err = p / c.measured - 1.0
        errs.append(abs(err))
        ok = "pass" if abs(err) <= c.tolerance else "FAIL"
        rows.append(f"| {c.id} | {c.metric} | {c.measured:.4g} | {p:.4g} | {err:+.1%} | "
                    f"±{c.tolerance:.0%} | {ok} |")
        sys.stderr.write(f"{c.id}: {err:+.1%} ({time.perf_counter() - t:.1f} s)\n")
    out = sys.stdout.write
    out("| case | metric | measured | predicted | error | tolerance | result |\n")
    out("|---|---|---|---|---|---|---|\n")
    out("\n".join(rows) + "\n")
    errs.sort()
    n = len(errs)
    med = errs[n // 2] if n % 2 else 0.5 * (errs[n // 2 - 1] + errs[n // 2])
    out(f"\n{n} cases; median |error| {med:.1%}; within tolerance "
        f"{sum(1 for r in rows if r.endswith('pass |'))}/{n}\n")


if __name__ == "__main__":
    main()
