"""AtlasClient speed against in-run baselines, over a real socket to the sandbox (a script, not a test).

    python benchmarks/bench_client.py [--documents 1000] [--latency 0.02] [--repeat 3]

One batch of N finished documents, every request delayed by --latency seconds (a stand-in for the
round trip to Atlas). Three ways to read all its pages (per_page=50):
  raw         a bare requests.Session loop with the token: no retries, parsing or checks (baseline)
  iter        client.iter_extracts: one page at a time (target: <= 1.2x raw)
  fetch       client.fetch_extracts(concurrency=8): page 1, then the rest in parallel (target: < raw)
Times are the best of --repeat runs per side, sides interleaved.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from atlas_core.client import AtlasClient, UploadItem  # noqa: E402
from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET  # noqa: E402
from atlas_core.sandbox import Behaviour, SandboxServer  # noqa: E402


def raw_walk(url: str, batch_id: str) -> int:
    """The baseline: mint a token, then GET pages until has_next is false."""
    with requests.Session() as session:
        headers = {"Client-Id": SANDBOX_CLIENT_ID, "Client-Secret": SANDBOX_CLIENT_SECRET}
        token = session.post(f"{url}/v1/bulk/authtoken", headers=headers, timeout=10).json()["access_token"]
        count, page = 0, 1
        while True:
            body = session.get(
                f"{url}/v1/bulk/extracts",
                params={"batch_id": batch_id, "page": page, "per_page": 50},
                headers={"Token": token},
                timeout=10,
            ).json()
            count += len(body["data"])
            if not body["has_next"]:
                return count
            page += 1


def main() -> None:
    """Run the three sides and print times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with SandboxServer(behaviour=Behaviour(processing_seconds=0.01)) as sandbox:
        with AtlasClient(sandbox.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET) as setup:
            items = [UploadItem(f"https://files.example/scan-{i}.jpg", f"doc-{i}") for i in range(args.documents)]
            batch = setup.multiupload("POC_CDL", items)[0].batch_id
        sandbox.advance(10)
        sandbox.set_behaviour(latency=args.latency)

        def with_client(fetch: bool) -> int:
            with AtlasClient(sandbox.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET) as atlas:
                return len(atlas.fetch_extracts(batch, concurrency=8) if fetch else list(atlas.iter_extracts(batch)))

        sides = {
            "raw": lambda: raw_walk(sandbox.url, batch),
            "iter": lambda: with_client(False),
            "fetch": lambda: with_client(True),
        }
        best = {name: float("inf") for name in sides}
        for _ in range(args.repeat):
            for name, run in sides.items():
                started = time.perf_counter()
                count = run()
                best[name] = min(best[name], time.perf_counter() - started)
                assert count == args.documents, f"{name} read {count} of {args.documents} documents"

    pages = -(-args.documents // 50)
    print(f"{args.documents} documents, {pages} pages, {args.latency * 1000:.0f} ms per request, best of {args.repeat}")
    for name in sides:
        print(f"  {name:<6} {best[name]:7.3f} s   {best[name] / best['raw']:5.2f}x raw")


if __name__ == "__main__":
    main()
