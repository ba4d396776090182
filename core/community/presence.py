"""Chat state that lives in Redis, never in one process's memory (docs/architecture.md):
presence from heartbeats, typing indicators, slow mode, and which sockets a user has open
(so any process can disconnect them).

Keys (all expire on their own):

- ``chat:presence:<user_id>`` → ``online`` | ``away``, TTL ``PRESENCE_TTL`` s; absent = offline.
- ``chat:sids:<user_id>`` → set of Socket.IO session ids, TTL refreshed by heartbeats.
- ``chat:rooms:<user_id>`` → set of channel ids the user's sockets joined.
- ``chat:typing:<channel_id>`` → sorted set user_id → expiry (epoch seconds).
- ``chat:slow:<channel_id>:<user_id>`` → sorted set of send times (ms) in the window.
"""

import logging
import time
import uuid

from redis.exceptions import RedisError

from core.base.errors import DomainError
from core.base.jobs import redis_connection

log = logging.getLogger(__name__)

#: A heartbeat every 25 s keeps presence alive; 60 s without one means offline.
HEARTBEAT_SECONDS = 25
PRESENCE_TTL = 60
#: A typing indicator lasts this long unless the typist keeps typing.
TYPING_TTL = 6
#: Slow mode (rules: "Chat"): at most ``SLOW_MODE_MESSAGES`` per ``SLOW_MODE_SECONDS`` per user
#: per channel; staff are exempt.
SLOW_MODE_MESSAGES = 5
SLOW_MODE_SECONDS = 10
PRESENCE_STATES = ("online", "away")


class SlowMode(DomainError):
    """Over the slow-mode limit (429); ``retry_after`` is whole seconds to wait."""

    status = 429
    code = "slow_mode"

    def __init__(self, retry_after: int):
        super().__init__(
            f"Slow mode: at most {SLOW_MODE_MESSAGES} messages every {SLOW_MODE_SECONDS} "
            f"seconds in a channel. Try again in {retry_after} s.")
        self.retry_after = retry_after


# Sliding window in one round trip: drop old stamps, refuse when full, else add ours.
_SLOW_LUA = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
  tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, window)
return 0
"""


def check_slow_mode(user_id: int, channel_id: int, now_ms: int | None = None) -> None:
    """Count one message against the user's slow-mode window in a channel.

    Raises ``SlowMode`` (with ``retry_after`` seconds, at least 1) when the user already
    sent ``SLOW_MODE_MESSAGES`` in the last ``SLOW_MODE_SECONDS``. Atomic across processes
    (a Lua script on Redis). When Redis does not answer, the message is let through and a
    warning logged (it must never lose a message). Rule source: docs/rules.md "Chat"
    (slow mode).
    """
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    try:
        wait_ms = redis_connection().eval(
            _SLOW_LUA, 1, f"chat:slow:{channel_id}:{user_id}", now_ms,
            SLOW_MODE_SECONDS * 1000, SLOW_MODE_MESSAGES, f"{now_ms}-{uuid.uuid4().hex[:8]}")
    except RedisError:
        # Without Redis there is no shared count: let the message through (it is stored
        # either way) rather than lose it to a rate limit nobody can compute.
        log.warning("slow mode not checked for user %s: Redis unavailable", user_id)
        return
    if int(wait_ms) > 0:
        raise SlowMode(max(1, -(-int(wait_ms) // 1000)))


# --- sockets and rooms -------------------------------------------------------------

def add_socket(user_id: int, sid: str) -> None:
    """Remember that ``sid`` is one of the user's open sockets (any process)."""
    r = redis_connection()
    pipe = r.pipeline()
    pipe.sadd(f"chat:sids:{user_id}", sid)
    pipe.expire(f"chat:sids:{user_id}", PRESENCE_TTL * 10)
    pipe.execute()


def remove_socket(user_id: int, sid: str) -> int:
    """Forget a closed socket; returns how many sockets the user still has open."""
    r = redis_connection()
    r.srem(f"chat:sids:{user_id}", sid)
    left = r.scard(f"chat:sids:{user_id}")
    if not left:
        r.delete(f"chat:rooms:{user_id}")
    return left


def connect_socket(user_id: int, sid: str) -> str | None:
    """A socket opened: ``add_socket`` and ``heartbeat(user_id, "online")`` in one round
    trip. Returns the previous presence state (``None``: the user was offline)."""
    r = redis_connection()
    pipe = r.pipeline(transaction=False)
    pipe.sadd(f"chat:sids:{user_id}", sid)
    pipe.set(f"chat:presence:{user_id}", "online", ex=PRESENCE_TTL, get=True)
    pipe.expire(f"chat:sids:{user_id}", PRESENCE_TTL * 10)
    old = pipe.execute()[1]
    return old.decode() if old else None


def sockets_of(user_id: int) -> list[str]:
    """The user's open socket ids, across every process."""
    return [s.decode() for s in redis_connection().smembers(f"chat:sids:{user_id}")]


def connected_users() -> list[int]:
    """User ids with at least one open socket in any process (a scan over the
    ``chat:sids:`` sets: bounded by who is online, not by the number of partners)."""
    return _scan_users("chat:sids:*", lambda pipe, key: pipe.scard(key))


def _scan_users(pattern: str, probe) -> list[int]:
    """User ids of the per-user keys matching ``pattern`` (``chat:<kind>:<user_id>``)
    for which ``probe(pipeline, key)`` answers something truthy, in one round trip."""
    r = redis_connection()
    keys = list(r.scan_iter(match=pattern, count=1000))
    if not keys:
        return []
    pipe = r.pipeline()
    for k in keys:
        probe(pipe, k)
    return sorted(int(k.decode().rsplit(":", 1)[1]) for k, hit in
                  zip(keys, pipe.execute(), strict=True) if hit)


def add_room(user_id: int, channel_id: int) -> None:
    """Record that a socket of the user joined a channel's room."""
    r = redis_connection()
    r.sadd(f"chat:rooms:{user_id}", channel_id)
    r.expire(f"chat:rooms:{user_id}", PRESENCE_TTL * 10)


def rooms_of(user_id: int) -> list[int]:
    """Channel ids whose rooms the user's sockets joined."""
    return sorted(int(c) for c in redis_connection().smembers(f"chat:rooms:{user_id}"))


def join_room_state(user_id: int, channel_id: int, member_ids: list[int],
                    now: float | None = None) -> tuple[list[int], dict[int, str]]:
    """A socket joined a channel's room: ``add_room``, then ``typing_in`` and
    ``presence_of(member_ids)`` in one round trip. Returns ``(typing, states)``."""
    now = now if now is not None else time.time()
    ids = list(dict.fromkeys(member_ids))
    r = redis_connection()
    pipe = r.pipeline(transaction=False)
    pipe.sadd(f"chat:rooms:{user_id}", channel_id)
    pipe.expire(f"chat:rooms:{user_id}", PRESENCE_TTL * 10)
    key = f"chat:typing:{channel_id}"
    pipe.zremrangebyscore(key, "-inf", now)
    pipe.zrangebyscore(key, now, "+inf")
    if ids:
        pipe.mget([f"chat:presence:{u}" for u in ids])
    out = pipe.execute()
    typing = sorted(int(u) for u in out[3])
    values = out[4] if ids else []
    return typing, {u: (v.decode() if v else "offline") for u, v in zip(ids, values, strict=True)}


def remove_room(user_id: int, channel_id: int) -> None:
    """Forget that the user's sockets are in a channel's room (they were taken out)."""
    redis_connection().srem(f"chat:rooms:{user_id}", channel_id)


def users_in_room(channel_id: int) -> list[int]:
    """User ids whose sockets joined a channel's room (a scan over the connected users'
    ``chat:rooms:`` sets: bounded by who is online, not by the number of partners)."""
    return _scan_users("chat:rooms:*", lambda pipe, key: pipe.sismember(key, channel_id))


# --- presence ------------------------------------------------------------------------

def heartbeat(user_id: int, state: str = "online") -> str | None:
    """Record a heartbeat (``online`` or ``away``) for ``PRESENCE_TTL`` seconds.

    Returns the previous state (``None`` if the user was offline) so the caller can
    announce a change. Raises ``ValueError`` for another state.
    """
    if state not in PRESENCE_STATES:
        raise ValueError(f"state must be one of {PRESENCE_STATES}")
    r = redis_connection()
    old = r.set(f"chat:presence:{user_id}", state, ex=PRESENCE_TTL, get=True)
    r.expire(f"chat:sids:{user_id}", PRESENCE_TTL * 10)
    return old.decode() if old else None


def go_offline(user_id: int) -> None:
    """Mark the user offline now (their last socket closed)."""
    redis_connection().delete(f"chat:presence:{user_id}")


def presence_of(user_ids: list[int]) -> dict[int, str]:
    """``{user_id: "online" | "away" | "offline"}`` for the given users."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    values = redis_connection().mget([f"chat:presence:{u}" for u in ids])
    return {u: (v.decode() if v else "offline") for u, v in zip(ids, values, strict=True)}


# --- typing --------------------------------------------------------------------------

def set_typing(user_id: int, channel_id: int, now: float | None = None) -> int:
    """Mark the user as typing in a channel for ``TYPING_TTL`` seconds; returns the TTL."""
    now = now if now is not None else time.time()
    r = redis_connection()
    pipe = r.pipeline()
    pipe.zadd(f"chat:typing:{channel_id}", {str(user_id): now + TYPING_TTL})
    pipe.expire(f"chat:typing:{channel_id}", TYPING_TTL * 2)
    pipe.execute()
    return TYPING_TTL


def clear_typing(user_id: int, channel_id: int) -> None:
    """The user stopped typing (sent the message)."""
    redis_connection().zrem(f"chat:typing:{channel_id}", str(user_id))


def typing_in(channel_id: int, now: float | None = None) -> list[int]:
    """User ids typing in a channel right now (expired entries are ignored and pruned)."""
    now = now if now is not None else time.time()
    r = redis_connection()
    key = f"chat:typing:{channel_id}"
    r.zremrangebyscore(key, "-inf", now)
    return sorted(int(u) for u in r.zrangebyscore(key, now, "+inf"))
