-- receipts.lua with skewed cards: the hot cards (HOT_CARDS, card numbers 0 .. HOT_CARDS - 1;
-- default 1% of CARDS) get a receipt with probability 0.2, the other cards share the rest
-- uniformly. Receipt numbers start with "skew", so the database checks can find them.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "receipts.lua")
local cards = tonumber(os.getenv("CARDS") or "") or 10000
local hot = tonumber(os.getenv("HOT_CARDS") or "") or math.max(1, math.floor(cards / 100))
number_prefix = "skew"
function pick_card()
  if math.random() < 0.2 then
    return math.random(0, hot - 1)
  end
  return math.random(hot, cards - 1)
end
