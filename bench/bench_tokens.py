"""Time PP1 tokens on one core: signing, verifying, and the CBOR + zlib + Base45 wrapping alone.

    .venv/bin/python bench/bench_tokens.py [--seconds 3]

Prints a markdown table (tokens per second, median microseconds per token), measured in one run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import zlib
from collections.abc import Callable

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from permits.passes import token

CLAIMS = token.PassClaims(
    issuer="CN-310000",
    issued_at=1_796_000_000,
    not_before=1_796_054_400,
    expires=1_797_264_000,
    number="310115000123",
    control_code="HARZYB3N",
    kind="VP",
    enterprise="上海浦江冷链物流有限公司",
    uscc="91310115MA1K3P7Q8R",
    plate="沪A12675D",
    origin="310115",
    destination="320583",
    cargo="daily_necessities",
    drivers=(("王建军", "2318"), ("周明", "3374")),
)


def rate(work: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Calls per second over `seconds`, and the median microseconds of 200-call batches."""
    for _ in range(50):
        work()
    batches: list[float] = []
    calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        for _ in range(200):
            work()
        batches.append((time.perf_counter() - t0) / 200)
        calls += 200
    elapsed = time.perf_counter() - start
    return calls / elapsed, statistics.median(batches) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    key = ec.generate_private_key(ec.SECP256R1())
    kid = token.kid_for(key.public_key())
    keys = {kid: key.public_key()}
    signed = token.sign(CLAIMS, key, kid)
    now = CLAIMS.not_before + 60
    raw = cbor2.dumps(cbor2.CBORTag(18, [b"\xa1\x01&", {}, b"x" * 200, b"s" * 64]))

    rows = [
        ("sign (claims → PP1 text)", *rate(lambda: token.sign(CLAIMS, key, kid), args.seconds)),
        (
            "verify (PP1 text → verdict)",
            *rate(lambda: token.verify(signed, keys, now), args.seconds),
        ),
        (
            "wrapping only: CBOR + zlib + Base45",
            *rate(lambda: token.b45encode(zlib.compress(cbor2.dumps(raw), 9)), args.seconds),
        ),
        (
            "ECDSA P-256 signature only",
            *rate(lambda: key.sign(b"x" * 200, token._signature_algorithm()), args.seconds),
        ),
    ]
    print(
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"token of {len(signed)} characters\n"
    )
    print("| operation | per second (one core) | median µs |")
    print("|---|---:|---:|")
    for name, per_second, micros in rows:
        print(f"| {name} | {per_second:,.0f} | {micros:.1f} |")
    goal = "met" if rows[0][1] >= 8000 else "NOT met"
    print(f"\nGoal, at least 8,000 tokens signed per second on one core: {goal}.")


if __name__ == "__main__":
    main()
