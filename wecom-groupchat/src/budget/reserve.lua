-- The rate budget's schedule on Redis: the twin of wecom-groupchat/src/budget/schedule.rs (its docs say
-- what a slot respects and why). One hash per (server, corp, endpoint); every call runs this once,
-- atomically, on Redis's clock, so instances never compare clocks.
--
-- KEYS[1]  the hash: `tat` (earliest next slot), `blocked` (end of a block), and per long window i:
--          `wi:total`, `wi:oldest` (oldest bucket counted), `wi:<bucket>` (slots in that bucket)
-- ARGV[1]  pace: least distance between two slots (µs)
-- ARGV[2]  1 to fail fast while blocked (no slot taken), 0 to wait
-- ARGV[3]  keep: how long the state matters after the last slot (µs)
-- ARGV[4]  the time (µs), for tests; '' for Redis's TIME
-- ARGV[5]  -1, or a merge after an outage: no slot before this many µs from now (the fleet's instances
--          notice the outage's end one by one; until then some still spend their local share)
-- ARGV[6]  merge: the fallback's next slot (µs from now)
-- ARGV[7]  merge: the end of a block the fallback recorded (µs from now)
-- ARGV[8]  n, the number of long windows; then per window: limit, span (µs), bucket width (µs), d, and d
--          pairs (end of a bucket of the fallback, µs from now; its slots), the calls made during the outage
-- Returns {0, wait µs, block left µs, total of each long window...}, or {1, block left µs} (fail fast).

local key = KEYS[1]
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function num(field)
  return tonumber(redis.call('HGET', key, field) or '0')
end

local pace = tonumber(ARGV[1])
local keep = tonumber(ARGV[3])
local hold = tonumber(ARGV[5])
local tat = num('tat')
local blocked = num('blocked')

local windows = {}
local at = 9
for w = 1, tonumber(ARGV[8]) do
  local win = { limit = tonumber(ARGV[at]), span = tonumber(ARGV[at + 1]), width = tonumber(ARGV[at + 2]),
                prefix = 'w' .. w .. ':', debts = {} }
  local d = tonumber(ARGV[at + 3])
  at = at + 4
  for j = 1, d do
    win.debts[j] = { tonumber(ARGV[at]), tonumber(ARGV[at + 1]) }
    at = at + 2
  end
  win.total = num(win.prefix .. 'total')
  win.oldest = num(win.prefix .. 'oldest')
  windows[w] = win
end

if hold >= 0 then
  tat = math.max(tat, now + hold, now + tonumber(ARGV[6]))
  blocked = math.max(blocked, now + tonumber(ARGV[7]))
  for _, win in ipairs(windows) do
    for _, debt in ipairs(win.debts) do
      -- The bucket holding the last instant of the fallback's bucket: later, never earlier, than its calls.
      local k = math.floor((now + debt[1] - 1) / win.width)
      redis.call('HINCRBY', key, win.prefix .. k, debt[2])
      if win.total == 0 or k < win.oldest then
        win.oldest = k
      end
      win.total = win.total + debt[2]
    end
  end
end

if ARGV[2] == '1' and blocked > now then
  return { 1, blocked - now }
end

local slot = math.max(now, tat, blocked)
for _, win in ipairs(windows) do
  while true do
    -- Drop the buckets wholly before the window that ends at the slot.
    while win.total > 0 and (win.oldest + 1) * win.width <= slot - win.span do
      local field = win.prefix .. win.oldest
      local count = num(field)
      if count > 0 then
        redis.call('HDEL', key, field)
        win.total = win.total - count
      end
      win.oldest = win.oldest + 1
    end
    if win.total < win.limit then
      break
    end
    -- Full: wait until the oldest bucket has left the window.
    slot = math.max(slot, (win.oldest + 1) * win.width + win.span)
  end
end

tat = slot + pace
local reply = { 0, slot - now, blocked - now }
for w, win in ipairs(windows) do
  local k = math.floor(slot / win.width)
  redis.call('HINCRBY', key, win.prefix .. k, 1)
  if win.total == 0 then
    win.oldest = k
  end
  win.total = win.total + 1
  redis.call('HSET', key, win.prefix .. 'total', win.total, win.prefix .. 'oldest', win.oldest)
  reply[3 + w] = win.total
end
redis.call('HSET', key, 'tat', tat, 'blocked', blocked)
redis.call('PEXPIRE', key, math.ceil((slot - now + keep) / 1000) + 1000)
return reply
