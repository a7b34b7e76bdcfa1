"""Bounded load for the fault suite: client threads that decide with an Idempotency-Key each and,
like a careful channel, retry the same key and body until they get a 201."""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

from support.http import URL
from support.keys import KEYS


@dataclass
class Tally:
    """What one phase of load saw."""

    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    connection_errors: int = 0
    answers: dict[str, set[str]] = field(default_factory=dict)  # key -> decision ids answered with 201
    keys: set[str] = field(default_factory=set)  # every key sent
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, key: str, status: int | None, decision_id: str | None) -> None:
        with self.lock:
            self.requests += 1
            self.keys.add(key)
            if status is None:
                self.connection_errors += 1
            else:
                self.statuses[status] += 1
            if status == 201:
                self.answers.setdefault(key, set()).add(decision_id)

    @property
    def unanswered(self) -> set[str]:
        return self.keys - set(self.answers)


class Load:
    """`clients` threads deciding with fresh keys until stopped; then `settle` retries every key
    still without a 201 until it has one (or the deadline passes)."""

    def __init__(self, base: str, bodies: list[dict], phase: str, clients: int = 6) -> None:
        self.base, self.bodies, self.phase, self.clients = base, bodies, phase, clients
        self.tally = Tally()
        self.bodies_by_key: dict[str, dict] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def post(self, key: str, body: dict) -> int | None:
        try:
            response = requests.post(self.base + URL, json=body, timeout=30, headers={
                "X-API-Key": KEYS["channel"], "Idempotency-Key": key, "Connection": "close"})
        except requests.RequestException:
            self.tally.record(key, None, None)
            return None
        decision_id = response.json().get("decision_id") if response.status_code == 201 else None
        self.tally.record(key, response.status_code, decision_id)
        return response.status_code

    def _client(self, number: int) -> None:
        sent = 0
        while not self._stop.is_set():
            key = f"fault-{self.phase}-{number}-{sent}"
            body = self.bodies[(number + sent) % len(self.bodies)]
            self.bodies_by_key[key] = body
            while not self._stop.is_set() and self.post(key, body) != 201:
                time.sleep(0.05)  # a key that got no 201 is retried as it is (then by settle)
            sent += 1

    def start(self) -> "Load":
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True)
                         for n in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def settle(self, deadline: float = 90) -> None:
        end = time.monotonic() + deadline
        while self.tally.unanswered and time.monotonic() < end:
            for key in sorted(self.tally.unanswered):
                self.post(key, self.bodies_by_key[key])
            time.sleep(0.1)


def pause(seconds: float) -> None:
    """Let a fault last a while under load (the checks never depend on how long)."""
    time.sleep(seconds)
