-- A 45009 answered for the endpoint of KEYS[1] (see reserve.lua): no slot before the block ends.
-- ARGV[1] the block (µs)   ARGV[2] keep (µs)   ARGV[3] the time (µs), for tests; '' for Redis's TIME
-- Returns the block left (µs).

local key = KEYS[1]
local now
if ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local blocked = math.max(tonumber(redis.call('HGET', key, 'blocked') or '0'), now + tonumber(ARGV[1]))
redis.call('HSET', key, 'blocked', blocked)
local keep = math.ceil((blocked - now + tonumber(ARGV[2])) / 1000) + 1000
if redis.call('PTTL', key) < keep then
  redis.call('PEXPIRE', key, keep)
end
return blocked - now
