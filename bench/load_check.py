"""Load check: N concurrent sessions call one endpoint of the running app for a bounded time.

    python bench/load_check.py http://127.0.0.1:7860/ --api-name /chat_send \
        --args '["{marker} Please help me write the minutes of our meeting"]' \
        [--sessions 8] [--duration 60] [--user ana --password pw1] [--json]

Each session is its own gradio_client Client (its own Gradio session and state) calling
`--api-name` with `--args` (a JSON list) in a loop until the time is up. Every "{marker}" in the
arguments becomes a token unique to the call (snake_case, `lc_s<session>_m<n>`); a call that
succeeds but whose answer does not contain its token counts as a lost message. Prints calls
(decisions) per second, latency p50/p95/max, errors and lost messages; exits 1 on any error or loss.
"""
import argparse
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

from gradio_client import Client

MARKER = "{marker}"


@dataclass
class Tally:
    """What the sessions saw, shared under a lock."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lost: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, latency: float | None, error: str | None = None, lost: bool = False) -> None:
        """Record one call."""
        with self.lock:
            if error is not None:
                self.errors.append(error)
            else:
                self.latencies.append(latency)
                self.lost += lost


def fill(value, token: str):
    """`value` with every "{marker}" in its strings replaced by `token`."""
    if isinstance(value, str):
        return value.replace(MARKER, token)
    if isinstance(value, list):
        return [fill(v, token) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, token) for k, v in value.items()}
    return value


def session(number: int, args: argparse.Namespace, deadline: float, tally: Tally) -> None:
    """One client calling the endpoint until the deadline."""
    auth = (args.user, args.password) if args.user else None
    try:
        client = Client(args.url, auth=auth, verbose=False)
    except Exception as e:  # noqa: BLE001 - a session that cannot connect is an error to report
        tally.add(None, f"session {number}: cannot connect ({e})")
        return
    n = 0
    while time.perf_counter() < deadline:
        token = f"lc_s{number}_m{n}"
        start = time.perf_counter()
        try:
            result = client.predict(*fill(args.args, token), api_name=args.api_name)
        except Exception as e:  # noqa: BLE001 - every failure of the app counts, whatever its type
            tally.add(None, f"session {number} call {n}: {e}")
        else:
            marked = MARKER in json.dumps(args.args)
            tally.add(time.perf_counter() - start, lost=marked and token not in json.dumps(result))
        n += 1


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def report(tally: Tally, args: argparse.Namespace, elapsed: float) -> dict:
    """The figures of the check."""
    done = tally.latencies
    return {"sessions": args.sessions, "seconds": round(elapsed, 1), "api_name": args.api_name,
            "calls": len(done), "per_second": round(len(done) / elapsed, 3),
            "p50": round(statistics.median(done), 3) if done else None,
            "p95": round(percentile(done, 95), 3) if done else None,
            "max": round(max(done), 3) if done else None,
            "errors": len(tally.errors), "lost": tally.lost,
            "lost_checked": MARKER in json.dumps(args.args), "first_errors": tally.errors[:3]}


def main() -> int:
    """Run the sessions, print the figures; exit 1 on errors or lost messages."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the running app, e.g. http://127.0.0.1:7860/")
    parser.add_argument("--api-name", default="/chat_send", help="the endpoint to call")
    parser.add_argument("--args", type=json.loads, default=[f"{MARKER} Hello"],
                        help='the arguments as a JSON list; "{marker}" marks the call')
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60, help="seconds of calls")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    endpoints = Client(args.url, auth=(args.user, args.password) if args.user else None,
                       verbose=False).view_api(print_info=False, return_format="dict")
    if args.api_name not in endpoints["named_endpoints"]:
        sys.exit(f"{args.url} has no endpoint {args.api_name}; it has "
                 + ", ".join(sorted(endpoints["named_endpoints"])))
    tally = Tally()
    start = time.perf_counter()
    deadline = start + args.duration
    threads = [threading.Thread(target=session, args=(k, args, deadline, tally))
               for k in range(args.sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures = report(tally, args, time.perf_counter() - start)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"{figures['sessions']} sessions x {figures['seconds']} s on {figures['api_name']}: "
              f"{figures['calls']} calls, {figures['per_second']} per second; latency p50 "
              f"{figures['p50']} s, p95 {figures['p95']} s, max {figures['max']} s; errors "
              f"{figures['errors']}; lost messages "
              f"{figures['lost'] if figures['lost_checked'] else 'not checked (no {marker})'}")
        for error in figures["first_errors"]:
            print("  ", error)
    return 1 if figures["errors"] or figures["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
