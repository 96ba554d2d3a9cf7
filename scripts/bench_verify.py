"""Offline bulk verification against the published JWKS, as a ratio to raw Ed25519 verification of the same
messages in the same run (1.0 would mean parsing the URLs costs nothing); start-up of the offline verifier.

    ./scripts/bench-verify [--count 10000]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trace.offline import verify_offline  # noqa: E402
from trace.services.gs1 import element_string, label_url, parse_digital_link  # noqa: E402
from trace.services.keys_public import b64url, b64url_decode, keyset_from_jwks  # noqa: E402

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

BASE = "https://truyxuat.example.vn"


def timed(function, rounds=5) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": "1", "use": "sig", "alg": "EdDSA",
                      "status": "active"}]}
    urls, pairs = [], []
    for serial in range(1, args.count + 1):
        message = element_string("08936045000014", "GAO-BH-2610A", str(serial)).encode()
        signature = key.sign(message)
        urls.append(label_url(BASE, "08936045000014", "GAO-BH-2610A", str(serial),
                              b64url((1).to_bytes(2, "big") + signature)))
        pairs.append((signature, message))

    def raw_verify():
        for signature, message in pairs:
            public.verify(signature, message)

    def ours():
        results = verify_offline(urls, jwks, BASE)
        assert all(result.genuine for result in results)

    def parse_only():
        for url in urls:
            b64url_decode(parse_digital_link(url).signature)

    keyset_from_jwks(jwks)
    raw_time, our_time, parse_time = timed(raw_verify), timed(ours), timed(parse_only)
    print(f"{args.count:,} label URLs, median of 5 rounds")
    print(f"raw Ed25519 verify of the messages: {raw_time:6.3f} s  ({args.count / raw_time:9,.0f} a second)")
    print(f"offline verification of the URLs:   {our_time:6.3f} s  ({args.count / our_time:9,.0f} a second)"
          f"  = {raw_time / our_time:4.2f} of the raw rate")
    print(f"  of which parsing the URLs:        {parse_time:6.3f} s")

    with tempfile.TemporaryDirectory() as tmp:
        jwks_file = Path(tmp) / "jwks.json"
        jwks_file.write_text(json.dumps(jwks))
        listing = "\n".join(urls[:1]) + "\n"
        python = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 3)
        offline = timed(lambda: subprocess.run([sys.executable, "-m", "trace.offline", "--jwks", str(jwks_file),
                                                "--origin", BASE], input=listing.encode(), cwd=ROOT, check=True,
                                               capture_output=True), 3)
        flask = timed(lambda: subprocess.run([sys.executable, "-m", "flask", "--app", "trace", "verify", urls[0],
                                              "--jwks", str(jwks_file), "--origin", BASE], cwd=ROOT,
                                             capture_output=True, check=True), 3)
    print(f"start-up for one URL: python -m trace.offline {offline:5.2f} s, flask --app trace verify {flask:5.2f} s"
          f" (bare python {python:5.2f} s)")


if __name__ == "__main__":
    main()
