-- guardrail budget ledger: ONE script for every reservation, settlement and reading.
--
-- All amounts are integers in micro-units (1e-6) so sums are exact; all times are
-- milliseconds taken from Redis TIME, never from the application, so app clocks
-- may drift. A script runs atomically: a reservation checks every key, and then
-- charges every key or none.
--
-- KEYS[i]   base key of charge i (reserve, usage) or the slot it was charged to (settle)
-- ARGV[1]   "reserve" | "settle" | "usage"
-- ARGV[2]   reservation id (unique per call)
-- then 4 ARGV per charge: kind, amount, maximum, span_ms (settle: kind, old, new, unused)
--
-- kinds and their storage:
--   w  sliding window of span_ms: a sorted set KEY of entries "id|amount" scored by
--      time, plus KEY:sum. Entries at or before now - span are trimmed on each
--      reservation, so the set holds only what is inside the window (exact, bounded).
--   c  concurrent: the same structure; an entry is removed when the call ends, and
--      span_ms is a lease after which a crashed process's slot is reclaimed.
--   d  calendar day (UTC): a counter KEY:<days since epoch>, expiring after the day.
--   m  calendar month (UTC): a counter KEY:<yyyymm>, expiring after the month.
--   n  never resets: a counter KEY.
--
-- reserve -> {1, slot_1, used_1, reset_1, ...}   (used after charging; reset ms or -1)
--         |  {0, index, used, retry_ms, reset}   (nothing charged; -1 = no retry time)
-- settle  -> {used_1, ...}                       (new amount 0 releases the entry)
-- usage   -> {used_1, reset_1, ...}

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local DAY = 86400000
local op, rid = ARGV[1], ARGV[2]

local function days_from_civil(y, m)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m > 2) and (m - 3) or (m + 9)
  local doy = math.floor((153 * mp + 2) / 5)
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = (mp < 10) and (mp + 3) or (mp - 9)
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m
end

-- The counter slot for a calendar or never-resetting charge, and its reset time.
local function bucket(kind, key)
  if kind == 'n' then return key, -1 end
  local day = math.floor(now / DAY)
  if kind == 'd' then return key .. ':' .. day, (day + 1) * DAY end
  local y, m = civil_from_days(day)
  local ny, nm = y, m + 1
  if nm > 12 then ny, nm = y + 1, 1 end
  return key .. ':' .. (y * 100 + m), days_from_civil(ny, nm) * DAY
end

local function amount_of(member)
  return tonumber(string.match(member, '|(%-?%d+)$'))
end

-- Drop window entries at or before now - span; return what is left inside.
local function trim(key, span)
  local cut = now - span
  local old = redis.call('ZRANGEBYSCORE', key, '-inf', cut)
  if #old > 0 then
    local freed = 0
    for _, member in ipairs(old) do freed = freed + amount_of(member) end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', cut)
    redis.call('DECRBY', key .. ':sum', freed)
  end
  -- An empty (or evicted) set means nothing in the window, whatever KEY:sum says.
  if redis.call('EXISTS', key) == 0 then
    redis.call('DEL', key .. ':sum')
    return 0
  end
  return tonumber(redis.call('GET', key .. ':sum') or '0')
end

-- Milliseconds until enough window entries expire for `amount` to fit.
local function window_retry(key, span, used, amount, maximum)
  local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local freed = 0
  for i = 1, #entries, 2 do
    freed = freed + amount_of(entries[i])
    if used - freed + amount <= maximum then
      return tonumber(entries[i + 1]) + span - now
    end
  end
  return -1
end

local function reserve()
  local n = #KEYS
  local slots, used, resets = {}, {}, {}
  for i = 1, n do
    local b = 2 + (i - 1) * 4
    local kind, amount = ARGV[b + 1], tonumber(ARGV[b + 2])
    local maximum, span = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
    local slot, reset, u = KEYS[i], -1, 0
    if kind == 'w' or kind == 'c' then
      u = trim(slot, span)
    else
      slot, reset = bucket(kind, slot)
      u = tonumber(redis.call('GET', slot) or '0')
    end
    if u + amount > maximum then
      local retry = -1
      if amount <= maximum then
        if kind == 'w' then
          retry = window_retry(slot, span, u, amount, maximum)
        elseif kind == 'd' or kind == 'm' then
          retry = reset - now
        end
      end
      return {0, i, u, retry, reset}
    end
    slots[i], used[i], resets[i] = slot, u, reset
  end
  local out = {1}
  for i = 1, n do
    local b = 2 + (i - 1) * 4
    local kind, amount, span = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 4])
    local slot = slots[i]
    if kind == 'w' or kind == 'c' then
      -- Members are built from the ARGV strings: Lua's number formatting is not exact.
      redis.call('ZADD', slot, now, rid .. '|' .. ARGV[b + 2])
      redis.call('INCRBY', slot .. ':sum', amount)
      redis.call('PEXPIRE', slot, span + 1000)
      redis.call('PEXPIRE', slot .. ':sum', span + 1000)
    else
      redis.call('INCRBY', slot, amount)
      if resets[i] >= 0 and used[i] == 0 then
        -- A new counter: it lives one day past its period (late settlements).
        redis.call('PEXPIREAT', slot, resets[i] + DAY)
      end
    end
    out[#out + 1] = slot
    out[#out + 1] = used[i] + amount
    out[#out + 1] = resets[i]
  end
  return out
end

local function settle()
  local out = {}
  for i = 1, #KEYS do
    local b = 2 + (i - 1) * 4
    local kind, old, new = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
    local slot, u = KEYS[i], 0
    if kind == 'w' or kind == 'c' then
      local member = rid .. '|' .. ARGV[b + 2]
      local score = redis.call('ZSCORE', slot, member)
      if score then
        redis.call('ZREM', slot, member)
        if new > 0 then redis.call('ZADD', slot, score, rid .. '|' .. ARGV[b + 3]) end
        u = redis.call('INCRBY', slot .. ':sum', new - old)
      else
        u = tonumber(redis.call('GET', slot .. ':sum') or '0')
      end
    elseif redis.call('EXISTS', slot) == 1 then
      -- A counter that has expired belongs to a past period: nothing to settle.
      u = redis.call('INCRBY', slot, new - old)
    end
    out[i] = u
  end
  return out
end

local function usage()
  local out = {}
  for i = 1, #KEYS do
    local b = 2 + (i - 1) * 4
    local kind, span = ARGV[b + 1], tonumber(ARGV[b + 4])
    local u, reset = 0, -1
    if kind == 'w' or kind == 'c' then
      local live = redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. string.format('%d', now - span), '+inf', 'WITHSCORES')
      for j = 1, #live, 2 do u = u + amount_of(live[j]) end
      if kind == 'w' and #live > 0 then reset = tonumber(live[2]) + span end
    else
      local slot
      slot, reset = bucket(kind, KEYS[i])
      u = tonumber(redis.call('GET', slot) or '0')
    end
    out[#out + 1] = u
    out[#out + 1] = reset
  end
  return out
end

if op == 'reserve' then return reserve() end
if op == 'settle' then return settle() end
if op == 'usage' then return usage() end
return redis.error_reply('guardrail ledger: unknown op ' .. tostring(op))
