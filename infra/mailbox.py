"""The local mailbox: every email the app sent through SES, as JSON and as a page, as its recipient gets it:
SES replaces the Message-ID the sender wrote with its own, `<SES message id@email.amazonses.com>` (in
us-east-1; `<region>.amazonses.com` elsewhere), so a reply's In-Reply-To names that one."""

from __future__ import annotations

import email
import re
from email import policy
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from typing import Any

from jinja2 import Environment, select_autoescape

from infra import moto_hooks

_LINK = re.compile(r"""href=["']([^"']+)["']""")
_URL = re.compile(r"https?://[^\s<>\"']+")


def ses_message_id(message_id: str, region: str) -> str:
    domain = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"<{message_id}@{domain}>"


def parse(message_id: str, raw: str, region: str = "us-east-1") -> dict[str, Any]:
    message = email.message_from_string(raw, policy=policy.default)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part else ""
    html = html_part.get_content() if html_part else ""
    links = [unescape(link) for link in _LINK.findall(html)] or _URL.findall(text)
    sent = message["Date"]
    return {
        "id": message_id,
        "messageId": ses_message_id(message_id, region),
        "from": str(message["From"] or ""),
        "replyTo": str(message["Reply-To"] or ""),
        "to": [address for _, address in getaddresses([str(message["To"] or "")]) if address],
        "subject": str(message["Subject"] or "").strip(),
        "text": text,
        "html": html,
        "links": list(dict.fromkeys(links)),
        "sentAt": parsedate_to_datetime(sent).isoformat() if sent else None,
    }


# Parsed messages by (id, raw text): a sent message never changes, and parsing MIME costs a few ms a message,
# so reading every message at each GET made the mailbox (which the e2e tests poll) slower as mail piled up.
_parsed: dict[tuple[str, str], dict[str, Any]] = {}


def _parsed_once(message_id: str, raw: str, region: str) -> dict[str, Any]:
    found = _parsed.get((message_id, raw))
    if found is None:
        found = _parsed[(message_id, raw)] = parse(message_id, raw, region)
    return {**found, "to": list(found["to"]), "links": list(found["links"])}  # callers may change theirs


def messages(account: str, region: str, after: int = 0) -> list[dict[str, Any]]:
    """Every message sent, oldest first; `after=N` skips the first N (a poller reads only what is new)."""
    sent = moto_hooks.sent_raw_messages(account, region)
    return [_parsed_once(message_id, raw, region) for message_id, raw in sent[after:]]


_PAGE = Environment(autoescape=select_autoescape(default=True)).from_string("""<!doctype html>
<html><head><meta charset="utf-8"><title>Local mailbox ({{ messages|length }})</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
article{border:1px solid #c5ced8;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
iframe{width:100%;height:22rem;border:1px solid #e3e8ee}.meta{color:#5b6878}</style></head>
<body><h1>Local mailbox</h1>
<p class="meta">Every email the app sent, newest first. JSON: <code>GET /_local/mailbox</code>
with <code>Accept: application/json</code>.</p>
{% for m in messages|reverse %}
<article><h2>{{ m.subject }}</h2>
<p class="meta">From {{ m["from"] }} · To {{ m.to|join(", ") }}
{% if m.replyTo %}· Reply-To {{ m.replyTo }}{% endif %}
· {{ m.sentAt }} · Message-ID {{ m.messageId }} · id {{ m.id }}</p>
<iframe sandbox="allow-popups allow-top-navigation-by-user-activation" srcdoc="{{ m.html }}"></iframe>
</article>
{% else %}<p>No email yet. Submit a complaint at <a href="/">the form</a>.</p>{% endfor %}
</body></html>""")


def page(account: str, region: str) -> str:
    return _PAGE.render(messages=messages(account, region))
