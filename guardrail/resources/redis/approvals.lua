-- Approval requests in Redis (guardrail.approvals.redis): every state change is
-- this one script, so it is atomic however many processes call it at once.
-- ARGV[1] the operation, ARGV[2] the key prefix, ARGV[3] now (epoch seconds).
local op, prefix, now = ARGV[1], ARGV[2], tonumber(ARGV[3])

local function request_key(id)
  return prefix .. 'req:' .. id
end

-- A request is live in `status` until its expiry.
local function live(key, status)
  local found = redis.call('HMGET', key, 'status', 'expires')
  return found[1] == status and tonumber(found[2]) > now
end

if op == 'request' then
  -- KEYS[1] the digest's pending pointer; ARGV[4] new id, ARGV[5] created, ARGV[6..] fields
  local current = redis.call('GET', KEYS[1])
  if current and live(request_key(current), 'pending') then
    return current
  end
  local id = ARGV[4]
  redis.call('HSET', request_key(id), unpack(ARGV, 6))
  redis.call('SET', KEYS[1], id)
  redis.call('ZADD', prefix .. 'ids', ARGV[5], id)
  return id
elseif op == 'decide' then
  -- ARGV[4] id, ARGV[5] 'granted' or 'denied', ARGV[6] approver, ARGV[7] note
  local key = request_key(ARGV[4])
  if not live(key, 'pending') then
    return false
  end
  local digest = redis.call('HGET', key, 'digest')
  redis.call('HSET', key, 'status', ARGV[5], 'decided_by', ARGV[6], 'decided_at', ARGV[3],
    'note', ARGV[7])
  if ARGV[5] == 'granted' then
    -- the grant is usable for ttl from now
    local expires = now + tonumber(redis.call('HGET', key, 'ttl'))
    redis.call('HSET', key, 'expires', string.format('%.6f', expires))
    redis.call('RPUSH', prefix .. 'granted:' .. digest, ARGV[4])
  end
  if redis.call('GET', prefix .. 'pending:' .. digest) == ARGV[4] then
    redis.call('DEL', prefix .. 'pending:' .. digest)
  end
  return ARGV[4]
elseif op == 'consume' then
  -- KEYS[1] the digest's list of grants; ARGV[4] the consuming call's id
  while true do
    local id = redis.call('LPOP', KEYS[1])
    if not id then
      return false
    end
    if live(request_key(id), 'granted') then
      redis.call('HSET', request_key(id), 'status', 'consumed', 'consumed_at', ARGV[3],
        'consumed_by', ARGV[4])
      return id
    end
  end
end
return redis.error_reply('unknown operation ' .. tostring(op))
