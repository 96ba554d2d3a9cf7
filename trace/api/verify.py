"""Is this label genuine? One URL with the scan JSON (anyone), or up to 10,000 verdicts at once (a token)."""
from flask import current_app, jsonify

from .. import label_bases
from ..db import get_session
from ..services.errors import ValidationError
from ..services.issuance import MAX_BATCH, verify_many
from ..web import check_label, current_keyset
from . import bp
from .auth import token_required, token_user
from .payloads import body

MAX_URL_LENGTH = 2000


@bp.route("/verify", methods=["POST"])
def verify():
    url = body().get("url")
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_LENGTH:
        raise ValidationError({"url": "Give the label's URL as a string."})
    session = get_session()
    user = token_user()  # optional: a shop's check of a label it was never shipped is a sign of a copy
    _verification, facts, _key = check_label(session, url, user.organization_id if user else None)
    session.commit()
    return jsonify(facts)


@bp.route("/verify/batch", methods=["POST"])
@token_required
def verify_batch():
    """Up to 10,000 label URLs in one request, verdicts in the order sent; not recorded as scans."""
    urls = body().get("urls")
    if not isinstance(urls, list) or not urls:
        raise ValidationError({"urls": "Give the label URLs as a non-empty list of strings."})
    if len(urls) > MAX_BATCH:
        raise ValidationError({"urls": f"At most {MAX_BATCH:,} URLs at a time (this has {len(urls):,}); "
                                       "send the rest in another request."})
    bad = [i for i, url in enumerate(urls) if not isinstance(url, str) or len(url) > MAX_URL_LENGTH]
    if bad:
        raise ValidationError({"urls": f"Each URL is a string of at most 2,000 characters; not so at index "
                                       f"{', '.join(map(str, bad[:10]))}{'…' if len(bad) > 10 else ''}."})
    session = get_session()
    verdicts = verify_many(session, urls, current_keyset(session), label_bases(current_app))
    return jsonify({"results": [{"url": url, "verification": verdict.as_json()}
                                for url, verdict in zip(urls, verdicts)]})
