"""Forgetting the anti-fraud counters between two passes of a test that decides the same
applications twice (the second pass would otherwise see the first: cooling-off, velocity)."""
from app.extensions import services
from app.state.shared import MEMORY_SINCE, PREFIX, InProcessShared


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
