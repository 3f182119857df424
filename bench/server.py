"""A local Willow for benchmarks, in its own process: spec validation off, optional insight load.

Prints one JSON line with base_url / client_id / client_secret, then serves until stdin closes.
"""

from __future__ import annotations

import argparse
import json
import sys

from willow_ext.testing import LocalWillow, add_insight_trees


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--insight-roots", type=int, default=0)
    args = parser.parse_args()
    with LocalWillow(seed=True, validate_requests=False, validate_responses=False) as willow:
        if args.insight_roots:
            add_insight_trees(willow.store, roots=args.insight_roots, children_per_root=[0, 1, 3, 2], prefix="BENCH")
        print(json.dumps(willow.client_kwargs()), flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


if __name__ == "__main__":
    main()
