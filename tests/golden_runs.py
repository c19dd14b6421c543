"""Golden summaries: one short, fixed run per shipped scenario, compared value by value.

Regenerate only on purpose (a model or map change), and say why in the commit:
    python tests/golden_runs.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
SCENARIOS = HERE.parent / "scenarios"
#: The golden run of each scenario: its own seed, 2 replications, the first 15 minutes of its window.
OVERRIDES = ("time.duration_s=900",)
REPLICATIONS = 2


def golden_summary(scenario: Path) -> dict[str, Any]:
    """The run summary without the metadata section (versions and hashes live there)."""
    from twin.sim.run import run

    res = run(scenario, replications=REPLICATIONS, overrides=OVERRIDES)
    out = {k: v for k, v in res.summary.items() if k != "run"}
    return json.loads(json.dumps(out))


def main() -> int:
    GOLDEN.mkdir(exist_ok=True)
    for sc in sorted(SCENARIOS.glob("*.yaml")):
        (GOLDEN / f"{sc.stem}.json").write_text(
            json.dumps(golden_summary(sc), indent=1, sort_keys=True) + "\n"
        )
        print("wrote", GOLDEN / f"{sc.stem}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
