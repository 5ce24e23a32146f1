"""The seed's fetch_multiple_async, reduced to its hot path, as a contender.

asyncio + httpx (HTTP/2, one multiplexed connection), a semaphore of
max_concurrent_requests, JSON parsing offloaded to a thread pool, a payload
check (equal-length columns), results in request order, failures as None.
orjson when importable, else the standard json module (reported).

usage: fetch_multiple.py URLS_FILE CONCURRENCY
prints one JSON line: {"ok": n, "failed": n, "bytes": n, "json": "orjson"|"json"}
"""

import asyncio
import concurrent.futures
import sys

try:
    import orjson as _json

    JSON = "orjson"
except ImportError:
    import json as _json

    JSON = "json"

import httpx


def validate(doc):
    """Equal-length arrays in the document (or its "tel" object)."""
    cols = doc.get("tel", doc) if isinstance(doc, dict) else None
    if not isinstance(cols, dict):
        raise ValueError("not an object")
    lengths = {len(v) for v in cols.values() if isinstance(v, list)}
    if len(lengths) > 1:
        raise ValueError("columns of different lengths")
    return doc


def parse(body):
    return validate(_json.loads(body))


async def fetch_json(client, sem, pool, url):
    async with sem:
        r = await client.get(url)
    if r.status_code == 404:
        return None, 0
    r.raise_for_status()
    body = r.content
    doc = await asyncio.get_running_loop().run_in_executor(pool, parse, body)
    return doc, len(body)


async def fetch_multiple(urls, concurrency):
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # http1=False: HTTP/2 with prior knowledge (h2c) on the loopback mirror.
    with concurrent.futures.ThreadPoolExecutor() as pool:
        async with httpx.AsyncClient(http1=False, http2=True, limits=limits, timeout=30.0) as client:
            tasks = [fetch_json(client, sem, pool, u) for u in urls]
            return await asyncio.gather(*tasks, return_exceptions=True)


def main():
    urls = [line.strip() for line in open(sys.argv[1]) if line.strip()]
    results = asyncio.run(fetch_multiple(urls, int(sys.argv[2])))
    ok = sum(1 for r in results if isinstance(r, tuple) and r[0] is not None)
    size = sum(r[1] for r in results if isinstance(r, tuple))
    failed = len(results) - ok
    for r in results:
        if isinstance(r, BaseException):
            print(f"warning: {r!r}", file=sys.stderr)
            break
    print(_json.dumps({"ok": ok, "failed": failed, "bytes": size, "json": JSON}).decode()
          if JSON == "orjson" else _json.dumps({"ok": ok, "failed": failed, "bytes": size, "json": JSON}))


if __name__ == "__main__":
    main()
