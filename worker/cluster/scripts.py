"""The claim scripts: every decision about a fire's owner is one Lua call on Redis's clock.

A task's claim hash holds `mark` (the newest scheduled fire claimed, ms since the epoch),
`fire` and `at` (the fire under lease: its id and instant), `owner`, `lease` (deadline, ms,
Redis `TIME`), `done` (0 while its run goes on), `recover`, `manual` (the manual-claim key
of a manual fire, else empty), `outcome` (of the last finished run), `busy_at` (the newest
fire refused `busy` and recorded by its refuser), `folds` (1: the owner schedules the task,
so it records the fires it folds itself), `failures` (the task's fleet-wide streak of
failed runs, which a claim's winner continues), `recoveries` (how often the fire
`recoveries_of` names was taken over; `handoff` names a fire cut off at a shutdown and
handed on, which is no recovery) and `prev` (the mark from which the claim of the fire
`prev_of` names counted its `missed`). KEYS[1] is always the leases sorted set;
every key carries the `{claims}` hash tag. What Python reads back (claim results, manual
claim states, the `lease` announcement) is spelt by worker.protocol and formatted in here.
"""

from __future__ import annotations

from string import Template

from worker.protocol import LEASE_CLOSE, LEASE_OPEN, ClaimResult, ManualState

_PROTOCOL = {
    **{result.value: result.value for result in ClaimResult},
    **{f"manual_{state.value}": state.value for state in ManualState},
    "lease_open": LEASE_OPEN,
    "lease_close": LEASE_CLOSE,
}


def _spelt(text: str) -> str:
    """The script with the protocol's words in place of `$name`."""
    return Template(text).substitute(_PROTOCOL)


_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

CLAIM = _spelt(
    _NOW
    + """
-- ARGV: owner, lease ms, skew ms, control channel, folds ('1': the owner schedules the
-- task, so it folds and records the fires due while its run goes on), then per fire: at
-- ms, id, recover, manual, task, held ('1': the owner holds a lease of this task, so a live
-- lease of its own is a run going on; '0': such a lease is an orphan, a claim whose reply
-- was lost, and the owner claims over it), ahead (ms the claim is sent before its instant,
-- by the owner's clock). KEYS: leases, then per fire: the claim hash, the
-- manual-claim key (or the hash again). A lease ending before every lease held is
-- announced on the channel.
local owner, lease, skew, folds = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[5]
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local announce = false
local out = {}
local k, a = 2, 6
while a <= #ARGV do
  local key, mkey = KEYS[k], KEYS[k + 1]
  local at, id, recover, manual, task, held = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2],
    ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local ahead = tonumber(ARGV[a + 6])
  local c = redis.call('HMGET', key, 'mark', 'lease', 'done', 'owner', 'recover', 'fire', 'at',
    'busy_at', 'failures', 'folds', 'prev', 'prev_of', 'manual')
  local mark = tonumber(c[1]) or 0
  local live = c[3] == '0' and (tonumber(c[2]) or 0) > now
  local mine = manual ~= '1' and c[3] == '0' and c[4] == owner and held == '0'
  -- This owner's claim of this very fire whose reply was lost: claimed again, lease anew.
  local again = mine and c[6] == id
  -- This owner's live lease of an older fire it does not hold (an orphan): folded.
  local orphan = mine and live and not again
  if orphan then live = false end
  -- A dead claimer's recoverable fire not yet taken over (or this owner's orphan): a
  -- scheduled winner folds it (it counts it in `missed`); a manual fire waits instead.
  local abandoned = not again and c[3] == '0' and not live and (c[5] == '1' or orphan) and c[6]
  local status
  if manual == '1' then
    if redis.call('EXISTS', mkey) == 1 then status = '$taken'
    elseif live or abandoned then
      status = '$busy'
      redis.call('SET', mkey, '$manual_busy:' .. (c[4] or ''), 'EX', 3600)
    else
      status = '$won'
      redis.call('SET', mkey, '$manual_claimed:' .. owner, 'EX', 3600)
    end
  elseif again then status = '$won'
  elseif at > now + skew + ahead then status = '$early'
  elseif at <= mark then status = '$stale'
  elseif live then status = '$busy'
  else status = '$won' end
  -- Refused for overlap: recorded once, by the owner when it folds, else by the first refuser.
  local record = '0'
  if status == '$busy' and manual ~= '1' and c[10] ~= '1' and (tonumber(c[8]) or 0) < at then
    record = '1'
    redis.call('HSET', key, 'busy_at', at)
  end
  -- The count of `missed` starts at the newest fire that ran: the mark, or, over a fire that
  -- never ran to its end (folded here, or claimed again), the mark its claim counted from
  -- (`prev`, if written for that fire; else the fire before a scheduled one's mark).
  local since = mark
  if status == '$won' and (abandoned or again) then
    if c[12] == c[6] then since = tonumber(c[11]) or mark
    elseif not (c[13] and c[13] ~= '') then since = mark - 1 end
  end
  if status == '$won' then
    local newmark, prev = mark, since
    local mname = ''
    if manual == '1' then mname = mkey
    else
      newmark = at
      if prev == 0 then prev = at - 1 end  -- the first claim: nothing before it to count
    end
    redis.call('HSET', key, 'mark', newmark, 'fire', id, 'at', at, 'owner', owner,
      'lease', now + lease, 'done', '0', 'recover', recover, 'manual', mname, 'folds', folds,
      'recoveries', 0, 'prev', prev, 'prev_of', id)
    if recover == '1' then
      redis.call('ZADD', KEYS[1], now + lease, task)
      announce = announce or not first[2] or now + lease < tonumber(first[2])
    else redis.call('ZREM', KEYS[1], task) end
  end
  local folded = {'', '0'}
  if status == '$won' and abandoned then folded = {c[6], c[7] or '0'} end
  out[#out + 1] = {status, tostring(since), c[4] or '', folded[1], folded[2], c[9] or '0',
    record}
  k, a = k + 2, a + 7
end
if announce then redis.call('PUBLISH', ARGV[4], '$lease_open' .. lease .. '$lease_close') end
return out
"""
)

RENEW = (
    _NOW
    + """
-- ARGV: owner, lease ms, then per claim: fire id, task. KEYS: leases, the claim hashes.
local owner, lease = ARGV[1], tonumber(ARGV[2])
local out = {}
for i = 2, #KEYS do
  local id, task = ARGV[2 * i - 1], ARGV[2 * i]
  local c = redis.call('HMGET', KEYS[i], 'owner', 'fire', 'done', 'recover')
  if c[1] == owner and c[2] == id and c[3] == '0' then
    redis.call('HSET', KEYS[i], 'lease', now + lease)
    if c[4] == '1' then redis.call('ZADD', KEYS[1], now + lease, task) end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
"""
)

FINISH = _spelt(
    """
-- ARGV: owner, then per lease: claimed fire id, task, outcome, newest fire's ms ('' for a
-- manual fire), its id. KEYS: leases, then per lease: the claim hash, the manual-claim key
-- and its owner key (or the hash again, twice). Returns 1 per lease ended, 0 where the
-- claim has moved on to another fire. A finish is taken by fire id: a run whose lease was
-- taken over meanwhile still ends its fire (the taker's run ends it once more). A
-- recoverable fire `cancelled` by its owner is left undone with its lease run out
-- (recovery takes it).
local owner = ARGV[1]
local out = {}
local k, a = 2, 2
while a <= #ARGV do
  local key, mkey, okey = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local id, task, outcome = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local c = redis.call('HMGET', key, 'owner', 'fire', 'mark', 'recover')
  if c[1] == owner and c[2] == id and outcome == 'cancelled' and c[4] == '1' then
    -- Cut off at shutdown: not done, the lease run out now, so recovery elsewhere runs it.
    redis.call('HSET', key, 'lease', 0, 'outcome', outcome, 'handoff', id)
    redis.call('ZADD', KEYS[1], 0, task)
    out[#out + 1] = 1
  elseif c[2] == id and outcome ~= 'cancelled' or c[1] == owner and c[2] == id then
    redis.call('HSET', key, 'done', '1', 'lease', 0, 'outcome', outcome)
    if outcome == 'failed' or outcome == 'timeout' then redis.call('HINCRBY', key, 'failures', 1)
    elseif outcome == 'ok' then redis.call('HSET', key, 'failures', 0) end
    local newest = tonumber(ARGV[a + 3])
    if newest and newest > (tonumber(c[3]) or 0) then
      redis.call('HSET', key, 'mark', newest, 'fire', ARGV[a + 4], 'at', newest)
    end
    -- The task stays in the leases set until its deadline (the take-over script drops it
    -- then): a task firing more often than CLAIM_LEASE keeps the set from emptying, so its
    -- claims are not announced each time (a lease is announced only when it is earliest).
    if mkey ~= key then
      redis.call('SET', mkey, '$manual_done:' .. outcome, 'EX', 3600)
      redis.call('SET', okey, owner, 'EX', 3600)
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  k, a = k + 3, a + 5
end
return out
"""
)

EXPIRED = (
    _NOW
    + """
-- KEYS: leases. ARGV: how many at most. The tasks whose lease ran out (Redis clock), each
-- with the ms since, oldest first; then the ms until the next deadline (-1: none).
local found = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'WITHSCORES', 'LIMIT',
  0, tonumber(ARGV[1]))
local out = {}
for i = 1, #found, 2 do
  out[#out + 1] = found[i]
  out[#out + 1] = tostring(now - tonumber(found[i + 1]))
end
local next = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if next[2] then out[#out + 1] = tostring(tonumber(next[2]) - now) else out[#out + 1] = '-1' end
return out
"""
)

TAKE_OVER = _spelt(
    _NOW
    + """
-- ARGV: owner, lease ms, control channel, most recoveries, then per task: its name and '1'
-- to take its fire ('0': a task this replica's application lacks, only looked at). KEYS:
-- leases, their claim hashes. A finished or unrecoverable claim leaves the set; a dead
-- claimer's fire (undone, its lease run out) goes to one taker each, or, not to be taken,
-- is named in the second list; a fire taken over `most` times already is not taken again:
-- it ends `abandoned` (the third list, for its taker to record). A take-over is announced
-- (the others' next look is too late).
local owner, lease, most = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[4])
local out, left, gone = {}, {}, {}
for i = 2, #KEYS do
  local task, take = ARGV[2 * i + 1], ARGV[2 * i + 2]
  local c = redis.call('HMGET', KEYS[i], 'done', 'lease', 'recover', 'fire', 'at', 'manual',
    'owner', 'recoveries', 'recoveries_of', 'handoff')
  if c[1] == '0' and c[3] == '1' and (tonumber(c[2]) or 0) <= now then
    local entry = {task, c[4], c[5], c[6] or '', c[7] or ''}
    local n = 0  -- this fire's recoveries so far (a count written for another fire: none)
    if c[9] == c[4] then n = tonumber(c[8]) or 0 end
    local handed = c[10] == c[4]  -- cut off at a shutdown and handed on: no recovery
    if take ~= '1' then left[#left + 1] = task
    elseif n >= most and not handed then
      redis.call('HSET', KEYS[i], 'done', '1', 'lease', 0, 'outcome', 'abandoned')
      redis.call('HINCRBY', KEYS[i], 'failures', 1)
      redis.call('ZREM', KEYS[1], task)
      if c[6] and c[6] ~= '' then
        redis.call('SET', c[6], '$manual_done:abandoned', 'EX', 3600)
      end
      gone[#gone + 1] = entry
    else
      if not handed then n = n + 1 end
      redis.call('HSET', KEYS[i], 'owner', owner, 'lease', now + lease, 'folds', '1',
        'recoveries', n, 'recoveries_of', c[4], 'handoff', '')
      redis.call('ZADD', KEYS[1], now + lease, task)
      out[#out + 1] = entry
    end
  elseif c[1] ~= '0' or c[3] ~= '1' then
    redis.call('ZREM', KEYS[1], task)
  end
end
if #out > 0 then redis.call('PUBLISH', ARGV[3], '$lease_open' .. lease .. '$lease_close') end
return {out, left, gone}
"""
)
