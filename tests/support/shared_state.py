"""The anti-fraud shared state in tests: applications run through one Velocity as the service
runs them (`Run`), and forgetting the counters between two passes of a test that decides the same
applications twice (the second pass would otherwise see the first: cooling-off, velocity)."""
import datetime

from app.engine.language.resident_id import compose
from app.extensions import services
from app.services.velocity import Velocity
from app.state.shared import MEMORY_SINCE, PREFIX, InProcessShared
from support.applicants import as_of, examples

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.timezone.utc)
BORN = datetime.date(1990, 5, 14)
DEVICES = ["DEV-ROT-0001", "DEV-ROT-0002", "DEV-ROT-0003"]


def typed_application(policy, device: int | str, person: int, phone: int, **fields):
    """The approve_salaried example as of START with drawn ID, phone and device (an index into
    DEVICES, or the device id itself); `fields` sets other dotted fields (`device.ip_address`)."""
    body = as_of(examples("approve_salaried")["approve_salaried"], START.date())
    body["applicant"]["id_number"] = compose("330106", BORN, 100 + person)
    body["applicant"]["mobile"] = f"1381234{phone:04d}"
    body["device"]["device_id"] = DEVICES[device] if isinstance(device, int) else device
    for path, value in fields.items():
        section, name = path.split(".")
        body[section][name] = value
    return policy.parse_input(body)


class Run:
    """Applications through one Velocity as the service does them: look up (the application
    counts itself), decide with the values, remember the stored decision's marks."""

    def __init__(self, policy, lists, store, personal):
        self.policy, self.lists, self.store = policy, lists, store
        self.velocity = Velocity(store, lists, personal)
        self.count = 0
        self.last = None  # the latest decision

    def restart(self, personal):
        """The service restarted with other keys (FIREFLY_HMAC_KEY, FIREFLY_HMAC_OLD_KEYS)."""
        self.velocity = Velocity(self.store, self.lists, personal)

    def apply(self, typed, now):
        self.count += 1
        found = self.velocity.lookup(self.policy, typed, f"event-{self.count}", now)
        decision = self.policy.decide(typed, shared=found.values, sources=found.sources)
        self.velocity.remember(self.policy, typed, decision, f"decision-{self.count}", now)
        self.last = decision
        return found.values, decision.outcome


def forget_shared_state(app) -> None:
    velocity = services(app).deciding.velocity
    if velocity is None:
        return
    if isinstance(velocity.shared, InProcessShared):
        velocity.shared = InProcessShared()
        return
    client = velocity.shared.client
    keys = list(client.scan_iter(PREFIX + "*", count=1000))
    if keys:
        client.delete(*keys)
    # forgotten on purpose: the memory counts as whole from here (as `flask velocity accept-loss`)
    client.set(MEMORY_SINCE, "0")


def clean_redis(url: str) -> None:
    """Delete every key Firefly keeps in the Redis database at `url` (nothing else's)."""
    import redis
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter("firefly:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
