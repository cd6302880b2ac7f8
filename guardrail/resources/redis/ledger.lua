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
-- ARGV[2+i] charge i as ONE string "kind:amount:maximum:span_ms" (settle: "kind:old:new:0"),
--           so a client encodes a charge once and reuses the bytes on every call
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
-- reserve -> "1 used_1 reset_1 bucket_1 ..."     (ONE string, one token list to split;
--                                                 used after charging; reset ms or -1;
--                                                 bucket: the calendar suffix of the slot
--                                                 KEYS[i]:<bucket>, or "-" when the slot
--                                                 is KEYS[i] itself)
--         |  "0 index used retry_ms reset"      (nothing charged; -1 = no retry time)
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

-- The counter slot for a calendar or never-resetting charge, its reset time, and
-- the bucket suffix ('-' when the slot is the key itself).
local function bucket(kind, key)
  if kind == 'n' then return key, -1, '-' end
  local day = math.floor(now / DAY)
  if kind == 'd' then return key .. ':' .. day, (day + 1) * DAY, day end
  local y, m = civil_from_days(day)
  local ny, nm = y, m + 1
  if nm > 12 then ny, nm = y + 1, 1 end
  return key .. ':' .. (y * 100 + m), days_from_civil(ny, nm) * DAY, y * 100 + m
end

-- One charge argument "kind:a:b:c" -> kind, a (string), b (string), c (number).
local function charge(i)
  local kind, a, b, c = string.match(ARGV[2 + i], '^(%a):(%-?%d+):(%-?%d+):(%-?%d+)$')
  return kind, a, b, tonumber(c)
end

-- Integers as exact decimal text (tostring would write 1e+21).
local function int(x)
  return string.format('%.0f', x)
end

local function amount_of(member)
  return tonumber(string.match(member, '|(%-?%d+)$'))
end

-- Drop window entries at or before now - span, then add `amount` to what is left
-- inside (KEY:sum); return the use before it (one INCRBY reads and charges).
local function trim_and_add(key, span, amount_text)
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
  end
  return redis.call('INCRBY', key .. ':sum', amount_text) - tonumber(amount_text)
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

-- Give back charges 1..last of a reservation that was refused (latest first): each
-- was added with one INCRBY (windows: to KEY:sum), and each before `last` that is a
-- window also has its entry. A key that held nothing before is deleted, as if never
-- touched (an emptied set deletes itself), unless it is a calendar counter with an
-- expiry: that one existed before this reservation (one that charged 0 to it is
-- settled against it later) and keeps its 0.
local function give_back(slots, amounts, used, windows, last)
  for i = last, 1, -1 do
    local key = slots[i]
    if windows[i] then
      if i < last then redis.call('ZREM', key, rid .. '|' .. amounts[i]) end
      key = key .. ':sum'
    end
    if used[i] == 0 and (windows[i] or redis.call('PTTL', key) < 0) then
      redis.call('DEL', key)
    else
      redis.call('DECRBY', key, amounts[i])
    end
  end
end

-- The refusal of charge i (nothing charged): "0 index used retry_ms reset".
local function refusal(i, kind, slot, span, u, amount, maximum, reset)
  local retry = -1
  if amount <= maximum then
    if kind == 'w' then
      retry = window_retry(slot, span, u, amount, maximum)
    elseif kind == 'd' or kind == 'm' then
      retry = reset - now
    end
  end
  return table.concat({'0', i, int(u), int(retry), int(reset)}, ' ')
end

-- Each charge is added as it is checked (one INCRBY reads and charges); the first
-- that does not fit gives back those before it and itself: all or nothing.
local function reserve()
  local slots, amounts, used, windows, fresh = {}, {}, {}, {}, {}
  local out = {'1'}
  for i = 1, #KEYS do
    local kind, amount_text, maximum_text, span = charge(i)
    local amount, maximum = tonumber(amount_text), tonumber(maximum_text)
    local slot, reset, b, u = KEYS[i], -1, '-', 0
    local window = kind == 'w' or kind == 'c'
    if window then
      u = trim_and_add(slot, span, amount_text)
    else
      slot, reset, b = bucket(kind, slot)
      u = redis.call('INCRBY', slot, amount_text) - amount
    end
    slots[i], amounts[i], used[i], windows[i] = slot, amount_text, u, window
    if u + amount > maximum then
      give_back(slots, amounts, used, windows, i)
      return refusal(i, kind, slot, span, u, amount, maximum, reset)
    end
    if window then
      -- Members are built from the ARGV strings: Lua's number formatting is not exact.
      redis.call('ZADD', slot, now, rid .. '|' .. amount_text)
      redis.call('PEXPIRE', slot, span + 1000)
      redis.call('PEXPIRE', slot .. ':sum', span + 1000)
    elseif reset >= 0 and u == 0 then
      fresh[#fresh + 1] = {slot, reset}
    end
    out[#out + 1] = int(u + amount)
    out[#out + 1] = int(reset)
    out[#out + 1] = b
  end
  -- A new counter lives one day past its period (late settlements). Its expiry is set
  -- once every charge fits, so a give-back tells a counter this reservation made (no
  -- expiry yet) from one that held 0 before.
  for _, counter in ipairs(fresh) do
    redis.call('PEXPIREAT', counter[1], counter[2] + DAY)
  end
  return table.concat(out, ' ')
end

local function settle()
  local out = {}
  for i = 1, #KEYS do
    local kind, old_text, new_text = charge(i)
    local old, new = tonumber(old_text), tonumber(new_text)
    local slot, u = KEYS[i], 0
    if kind == 'w' or kind == 'c' then
      local member = rid .. '|' .. old_text
      local score = redis.call('ZSCORE', slot, member)
      if score then
        redis.call('ZREM', slot, member)
        if new > 0 then redis.call('ZADD', slot, score, rid .. '|' .. new_text) end
        u = redis.call('INCRBY', slot .. ':sum', new - old)
      else
        u = tonumber(redis.call('GET', slot .. ':sum') or '0')
      end
    elseif kind == 'n' or redis.call('EXISTS', slot) == 1 then
      -- A calendar counter that has expired belongs to a past period: nothing to
      -- settle. A never-resetting one has no past period (and one a refusal deleted
      -- held 0).
      u = redis.call('INCRBY', slot, new - old)
    end
    out[i] = u
  end
  return out
end

local function usage()
  local out = {}
  for i = 1, #KEYS do
    local kind, _, _, span = charge(i)
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
