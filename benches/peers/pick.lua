-- pick.lua: numpool's PICK for a predictable, localized pool with fallback `Pool`, as a Redis
-- script, for the peer comparison of DESIGN §8 P3 (driven by `loadgen --mode evalsha`).
--
-- Call:  EVALSHA <sha> 0 <pool_id> <to>      (reply: the sender, or an error like numpool's)
-- No keys are declared: the country list to read depends on the recipient, which only the script
-- knows. That is fine on a single Redis (not on Redis Cluster).
--
-- Keys, as written by `loadgen seed --redis ADDR --pool <id>`:
--   pool:<id>:sticky          hash  recipient -> sender (the predictable-sender table)
--   pool:<id>:country:<CC>    list  the pool's numbers in ISO country CC
--   pool:<id>:all             list  all the pool's numbers (fallback `Pool`)
--
-- Same steps as DESIGN §3.2 for this pool: validate `to`; sticky hit -> return it; else the
-- recipient's country from its calling code (NANP area codes tell CA from US); a deterministic
-- choice among that country's numbers (djb2 hash of `to`, modulo the list length); no number in
-- that country -> any pool number; record the mapping; return the sender.
-- Not modelled, because the benchmark never exercises them: sticky expiry, re-picking when a
-- mapped number left the pool or a local number appeared, weights, area/network tiers.
--
-- The lookup tables are string constants rather than Lua tables: a table literal would be
-- rebuilt on every call, and globals cannot be cached between calls in Redis scripts.

local CODES = ',1=US,7=RU,20=EG,27=ZA,30=GR,31=NL,32=BE,33=FR,34=ES,36=HU,39=IT,40=RO,41=CH,' ..
  '43=AT,44=GB,45=DK,46=SE,47=NO,48=PL,49=DE,51=PE,52=MX,54=AR,55=BR,56=CL,57=CO,60=MY,61=AU,' ..
  '62=ID,63=PH,64=NZ,65=SG,66=TH,81=JP,82=KR,84=VN,86=CN,90=TR,91=IN,92=PK,234=NG,254=KE,' ..
  '351=PT,352=LU,353=IE,354=IS,358=FI,420=CZ,852=HK,886=TW,971=AE,972=IL,966=SA,'
local CA_AREAS = ',204,226,236,249,250,263,289,306,343,354,365,367,368,382,403,416,418,428,' ..
  '431,437,438,450,468,474,506,514,519,548,579,581,584,587,604,613,639,647,672,683,705,709,' ..
  '742,753,778,780,782,807,819,825,867,873,879,902,905,'

local pool = ARGV[1]
local to = ARGV[2]
if string.sub(to, 1, 1) == '+' then
  to = string.sub(to, 2)
end
if #to < 7 or #to > 15 or not string.find(to, '^%d+$') then
  return redis.error_reply("ERR invalid recipient '" .. ARGV[2] .. "'")
end

local prefix = 'pool:' .. pool .. ':'
local mapped = redis.call('HGET', prefix .. 'sticky', to)
if mapped then
  return mapped
end

-- Calling codes are prefix-free, so the first of the 1-, 2- and 3-digit prefixes found wins.
local country
for len = 1, 3 do
  country = string.match(CODES, ',' .. string.sub(to, 1, len) .. '=(%u%u),')
  if country then
    break
  end
end
if not country then
  return redis.error_reply("ERR invalid recipient '" .. ARGV[2] .. "'")
end
if country == 'US' and string.find(CA_AREAS, ',' .. string.sub(to, 2, 4) .. ',', 1, true) then
  country = 'CA'
end

local list = prefix .. 'country:' .. country
local n = redis.call('LLEN', list)
if n == 0 then
  list = prefix .. 'all'
  n = redis.call('LLEN', list)
  if n == 0 then
    return redis.error_reply("NOPOOL pool '" .. pool .. "' not found")
  end
end

local h = 5381
for i = 1, #to do
  h = (h * 33 + string.byte(to, i)) % 4294967296
end
local sender = redis.call('LINDEX', list, h % n)
redis.call('HSET', prefix .. 'sticky', to, sender)
return sender
