"""Configuration read from the environment, shared by the web app and every CLI command."""
import os
from pathlib import Path

from .clock import DEFAULT_ZONE

ROOT = Path(__file__).resolve().parent.parent


def from_environment(instance_path: str) -> dict:
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'trace.sqlite'}"
    return {
        "DATABASE_URL": database_url,
        "TRACE_BASE_URL": os.environ.get("TRACE_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Base URLs labels were issued under before a domain move: still ours when verifying.
        "TRACE_OTHER_BASE_URLS": tuple(url.rstrip("/") for url in os.environ.get("TRACE_OTHER_BASE_URLS", "").split()),
        # A label scanned by more distinct clients than this is flagged as a possible copy.
        "TRACE_COPY_THRESHOLD": int(os.environ.get("TRACE_COPY_THRESHOLD", "20")),
        # Background jobs (label files): a Huey queue in a SQLite file, or on Redis when a URL is given.
        "TRACE_QUEUE_FILE": os.environ.get("TRACE_QUEUE_FILE", str(Path(instance_path) / "queue.sqlite")),
        "TRACE_REDIS_URL": os.environ.get("TRACE_REDIS_URL") or None,
        # The share of one processor the worker takes while rendering: it rests between pages so scans stay fast.
        "TRACE_RENDER_CPU_SHARE": float(os.environ.get("TRACE_RENDER_CPU_SHARE", "0.5")),
        "TRACE_FILES_DIR": os.environ.get("TRACE_FILES_DIR", str(Path(instance_path) / "label-files")),
        # Requests per client; RATELIMIT_ENABLED=0 turns limits off (tests do, except the one that checks them).
        "TRACE_SCAN_RATE": os.environ.get("TRACE_SCAN_RATE", "120 per minute"),
        "TRACE_VERIFY_RATE": os.environ.get("TRACE_VERIFY_RATE", "60 per minute"),
        "TRACE_LOGIN_RATE": os.environ.get("TRACE_LOGIN_RATE", "10 per minute"),
        "RATELIMIT_STORAGE_URI": os.environ.get("TRACE_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") != "0",
        "RATELIMIT_HEADERS_ENABLED": True,
        "TRACE_KEYS_DIR": os.environ.get("TRACE_KEYS_DIR", str(ROOT / "keys")),
        "TRACE_KEY_PASSPHRASE": os.environ.get("TRACE_KEY_PASSPHRASE") or None,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _instance_secret(instance_path),
        # Whom a shopper with a label that does not check out can reach, shown beside the one-tap report.
        "TRACE_WARD_CONTACT": os.environ.get("TRACE_WARD_CONTACT",
                                             "Phòng Kinh tế UBND phường Thủy Nguyên · 0225 3874 001"),
        "TRACE_REPORT_RATE": os.environ.get("TRACE_REPORT_RATE", "10 per hour"),
        "TRACE_DEMO": os.environ.get("TRACE_DEMO", "1") != "0",  # 0 for a real deployment: no demo ward, ever
        "TRACE_DEMO_PASSWORD_FILE": os.environ.get("TRACE_DEMO_PASSWORD_FILE",
                                                   str(Path(instance_path) / "demo-password")),
        "TRACE_LOGIN_ACCOUNT_RATE": os.environ.get("TRACE_LOGIN_ACCOUNT_RATE", "10 per 15 minutes"),
        # Invitations and password resets are also e-mailed when an SMTP server is set.
        "TRACE_SMTP_HOST": os.environ.get("TRACE_SMTP_HOST") or None,
        "TRACE_SMTP_PORT": int(os.environ.get("TRACE_SMTP_PORT", "587")),
        "TRACE_SMTP_USER": os.environ.get("TRACE_SMTP_USER") or None,
        "TRACE_SMTP_PASSWORD": os.environ.get("TRACE_SMTP_PASSWORD") or None,
        "TRACE_SMTP_STARTTLS": os.environ.get("TRACE_SMTP_STARTTLS", "1") != "0",
        "TRACE_MAIL_FROM": os.environ.get("TRACE_MAIL_FROM", "truy-xuat@localhost"),
        "TRACE_TIMEZONE": os.environ.get("TRACE_TIMEZONE", DEFAULT_ZONE),
        "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "trace" / "translations"),
    }


def _instance_secret(instance_path: str) -> str:
    """A random secret kept in instance/, so sessions survive restarts without a configured SECRET_KEY."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(32).hex())
    return path.read_text().strip()
