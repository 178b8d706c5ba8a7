-- A copy of ../shared/bench/receipts.lua adapted to the connector's API: field names
-- ("card" -> "card_number"; every receipt names its cashier, as the API requires) and value
-- types (card number as a string, amounts and quantities as JSON numbers). Everything else is
-- unchanged: a distinct 5-line receipt per request for a card drawn uniformly from CARDS,
-- cycling over 16 POS with their bearer tokens, every second request paying 10.00 with bonus.
-- Variants (receipts_skew.lua) load this file and redefine the globals pick_card (which card a
-- receipt names) and number_prefix (prepended to the receipt number, "" here).
local counter, start = 0, 0
local threads = {}
local tokens = {}
for t in string.gmatch(os.getenv("POS_TOKENS") or "", "[^,]+") do tokens[#tokens + 1] = t end
local pos_count = #tokens > 0 and #tokens or 16
local cards = tonumber(os.getenv("CARDS") or "") or 10000
number_prefix = ""
function pick_card()
  return math.random(0, cards - 1)
end
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  start = os.time()
  math.randomseed(start + tid * 7919)
end
request = function()
  counter = counter + 1
  local p = (counter * 2 + tid) % pos_count + 1
  local card = pick_card()
  local headers = {["Content-Type"] = "application/json"}
  if tokens[p] then headers["Authorization"] = "Bearer " .. tokens[p] end
  local bonus = (counter % 2 == 0) and ',"pay_bonus":10.00' or ''
  local body = string.format(
    '{"pos":"pos-%d","cashier":"c-1","number":"%s%d-%d-%d","card_number":"%d"%s,"lines":[' ..
    '{"goods":"g-100","qty":1.000,"price":199.90,"sum":199.90},' ..
    '{"goods":"g-200","qty":0.347,"price":459.00,"sum":159.27},' ..
    '{"goods":"g-300","qty":3.000,"price":45.50,"sum":136.50},' ..
    '{"goods":"g-400","qty":2.000,"price":89.99,"sum":179.98,"no_discount":true},' ..
    '{"goods":"g-500","qty":1.000,"price":1250.00,"sum":1250.00}]}',
    p, number_prefix, tid, start, counter, card, bonus)
  return wrk.format("POST", nil, headers, body)
end
