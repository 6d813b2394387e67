"""`complaints simulate`: realistic demo complaints, submitted through the public API as customers would,
and (on the embedded stack, with --act) the people who handle them: investigators, approvers and
customers answering the links in their emails, read from the local mailbox."""

from __future__ import annotations

import random
import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any

import requests
import yaml

# What an investigator finds, by category: (remedy, root cause).
OUTCOMES: dict[str, list[tuple[str, str]]] = {
    "payments": [
        ("refund", "payment_processing"),
        ("explanation", "third_party"),
        ("refund", "system_fault"),
    ],
    "settlement": [("resettle", "settlement_error"), ("explanation", "customer_misunderstanding")],
    "account": [("account_fix", "account_controls"), ("explanation", "account_controls")],
    "technical": [("compensation", "system_fault"), ("explanation", "system_fault")],
    "promotions": [("compensation", "promotion_terms"), ("explanation", "customer_misunderstanding")],
    "service": [("explanation", "staff_conduct"), ("compensation", "staff_conduct")],
    "security": [("refund", "account_controls"), ("account_fix", "account_controls")],
    "fairness": [("explanation", "customer_misunderstanding"), ("resettle", "settlement_error")],
    "policy": [("explanation", "customer_misunderstanding")],
    "other": [("explanation", "other")],
}
MONEY = {"refund", "partial_refund", "resettle", "compensation"}
TICKET = re.compile(r"CMP-\d{8}-[A-Z0-9]+")


def load_scenarios() -> dict[str, Any]:
    text = resources.files("complaints_cli").joinpath("demo_complaints.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def complaints(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """`count` complaint bodies for POST /complaints. No customer sends the same text twice (that would be
    the same complaint again, which intake answers with the first case)."""
    rng = random.Random(seed)
    scenarios = load_scenarios()
    categories = scenarios["categories"]
    weights = {name: c["weight"] for name, c in categories.items()}
    pool = max(20, int(count * 0.8))
    used: set[tuple[int, str]] = set()
    run = uuid.UUID(int=rng.getrandbits(128)).hex[:6]
    for n in range(count):
        category = _weighted(rng, weights)
        scenario = categories[category]
        while True:
            customer, text = rng.randrange(pool), rng.choice(scenario["texts"])
            if (customer, text) not in used:
                used.add((customer, text))
                break
        chinese = re.search(r"[\u4e00-\u9fff]", text) is not None
        body: dict[str, Any] = {
            "customer": {
                "email": f"demo.{run}.{customer}@example.com",
                "locale": "zh-CN" if chinese else "en",
            },
            "channel": _weighted(rng, scenarios["channels"]),
            "description": text,
            "references": {"ticketRef": f"SIM-{run}-{n:05d}"},
        }
        tier = _weighted(rng, scenarios["tiers"])
        if tier:
            body["customer"]["tier"] = tier
        if "amount" in scenario:
            low, high = scenario["amount"]
            body["amount"] = {"value": f"{rng.uniform(low, high):.2f}", "currency": "CNY"}
        yield body


def submit(api_url: str, body: dict[str, Any], session: requests.Session) -> dict[str, Any]:
    """POST one complaint (with an Idempotency-Key, so a retried request files it once)."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    for attempt in range(3):
        try:
            answer = session.post(f"{api_url}/complaints", json=body, headers=headers, timeout=30)
        except requests.RequestException:
            if attempt == 2:
                raise
            continue
        if answer.status_code == 202:
            return answer.json()
        if answer.status_code < 500 or attempt == 2:
            raise RuntimeError(f"intake answered {answer.status_code}: {answer.text[:200]}")
    raise AssertionError("unreachable")


@dataclass
class Actor:
    """Plays the people: answers every task link in the local mailbox for the simulated cases. Runs
    beside the submissions (its own thread): people answer while complaints keep coming in."""

    mailbox_url: str
    seed: int = 0
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)  # complaint id -> the body submitted
    seen: int = 0
    answered: set[str] = field(default_factory=set)  # task links answered
    outcomes: dict[str, int] = field(default_factory=dict)
    waiting: list[dict[str, Any]] = field(default_factory=list)  # mail for cases not known yet
    rng: random.Random = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def add(self, complaint_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.cases[complaint_id] = body

    def run(self, stop: threading.Event) -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                answered = self.step(session)
            except requests.RequestException:
                answered = 0
            if not answered:
                stop.wait(1.0)

    def _count(self, what: str) -> None:
        with self.lock:
            self.outcomes[what] = self.outcomes.get(what, 0) + 1

    def step(self, session: requests.Session) -> int:
        """Read new mail and answer its task links; the number answered."""
        answer = session.get(
            self.mailbox_url,
            params={"after": self.seen},
            headers={"Accept": "application/json"},
            timeout=60,
        )
        answer.raise_for_status()
        messages = answer.json()["messages"]
        self.seen += len(messages)
        with self.lock:
            known = set(self.cases)
        # Only the newest task link of each case: people act on the latest email, and an earlier link
        # of the same case has been superseded (a reminder reuses its link).
        latest: dict[str, str] = {}
        pending, self.waiting = self.waiting + messages, []
        for message in pending:
            link = next((url for url in message["links"] if "/tasks/" in url), None)
            if link is None or link in self.answered:
                continue
            found = TICKET.search(message["subject"])
            complaint = found.group(0) if found else None
            if complaint not in known:
                # Mail about a case whose submission has not come back yet, or not ours: look again
                # next time, for a while.
                message["_tries"] = message.get("_tries", 0) + 1
                if message["_tries"] < 30:
                    self.waiting.append(message)
                continue
            latest[complaint] = link
        with ThreadPoolExecutor(max_workers=4) as people:
            answered = list(people.map(lambda pair: (pair[1], self._answer(session, *pair)), latest.items()))
        for link, done in answered:
            if done:
                self.answered.add(link)
        return sum(1 for _, done in answered if done)

    def _answer(self, session: requests.Session, complaint: str, link: str) -> bool:
        page = session.get(link, timeout=30)
        if page.status_code != 200:
            return False  # superseded or already answered
        if 'name="decision"' in page.text:
            form = {"decision": "approve", "comment": "Approved (simulated approver)."}
            self._count("approved")
        elif 'name="resolved"' in page.text:
            happy = self.rng.random() < 0.85
            rating = self.rng.choice([4, 5, 5]) if happy else self.rng.choice([1, 2, 3])
            form = {"resolved": "yes" if happy else "no", "rating": str(rating), "comment": ""}
            self._count("customer said yes" if happy else "customer said no")
        else:
            form = self._findings(complaint, page.text)
            self._count("findings")
        posted = session.post(link, data=form, timeout=30)
        return posted.status_code in (200, 409)

    def _findings(self, complaint: str, page: str) -> dict[str, str]:
        match = re.search(r'id="category">([a-z]+)<', page) or re.search(
            r"<dt>Category</dt><dd>([a-z]+)", page
        )
        category = match.group(1) if match else "other"
        remedy, cause = self.rng.choice(OUTCOMES.get(category, OUTCOMES["other"]))
        form = {
            "summary": f"Checked the records for {complaint}; {cause.replace('_', ' ')}.",
            "remedy": remedy,
            "rootCause": cause,
            "customerMessage": "We looked into your complaint; here is what we found and what we will do.",
        }
        if remedy in MONEY:
            amount = (self.cases[complaint].get("amount") or {}).get(
                "value"
            ) or f"{self.rng.uniform(10, 200):.2f}"
            share = Decimal("1") if remedy != "compensation" else Decimal("0.2")
            form |= {"amount": f"{(Decimal(amount) * share).quantize(Decimal('0.01'))}", "currency": "CNY"}
        return form
