"""Offline label verification against a published JWKS: no database and no web framework, so it starts fast.

    python -m trace.offline --jwks jwks.json --origin https://truyxuat.example.vn URL... (or URLs on stdin)
"""
import argparse
import json
import sys
import urllib.request

from .services.keys_public import keyset_from_jwks
from .services.verification import verify_label

JWKS_PATH = "/.well-known/jwks.json"


class OfflineError(Exception):
    pass


def load_jwks(source: str, origin: str | None) -> tuple:
    """(JWKS document, base URL labels live under), from a file or the service's JWKS URL."""
    if source.startswith(("https://", "http://")):
        try:
            with urllib.request.urlopen(source, timeout=15) as response:  # noqa: S310 (http(s) only, checked above)
                document = json.load(response)
        except (OSError, ValueError) as exc:
            raise OfflineError(f"Could not read the JWKS at {source}: {exc}") from None
        if origin is None and source.endswith(JWKS_PATH):
            origin = source[: -len(JWKS_PATH)]
    else:
        try:
            with open(source, encoding="utf-8") as f:
                document = json.load(f)
        except OSError as exc:
            raise OfflineError(f"Could not read {source}: {exc.strerror}") from None
        except ValueError:
            raise OfflineError("The JWKS file is not a JSON key set.") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise OfflineError("The JWKS file is not a JSON key set.")
    if not origin:
        raise OfflineError("Give --origin: the base URL labels are issued under (a genuine signature on another "
                           "website is not a genuine label).")
    return document, origin.rstrip("/")


def verify_offline(urls: list, document: dict, origin: str) -> list:
    keyset = keyset_from_jwks(document)
    return [verify_label(url, keyset, (origin,)) for url in urls]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trace.offline", description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="*", help="label URLs (default: one a line on standard input)")
    parser.add_argument("--jwks", required=True, help="JWKS file, or the service's JWKS URL")
    parser.add_argument("--origin", help="base URL labels are issued under (default: from a JWKS URL)")
    args = parser.parse_args(argv)
    urls = args.urls or [line.strip() for line in sys.stdin if line.strip()]
    try:
        document, origin = load_jwks(args.jwks, args.origin)
    except OfflineError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    results = verify_offline(urls, document, origin)
    for url, result in zip(urls, results):
        print(f"{result.status}\t{url}\t{result.reason}")
    return 0 if results and all(result.genuine for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
