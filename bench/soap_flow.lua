-- The receipt flow of bench/soap.py: every receipt soft-calculated, then committed (two
-- requests, the same receipt: bench/pos_load's 5-line receipt, a card drawn from CARDS, cycling
-- over the POS tokens, every second receipt paying 10.00 with bonus), over FACE = "json" (the
-- POS JSON API) or "soap" (Manzana-compatible ProcessRequest). The same bodies on both faces.
local counter, start = 0, 0
local threads = {}
local tokens = {}
for t in string.gmatch(os.getenv("POS_TOKENS") or "", "[^,]+") do tokens[#tokens + 1] = t end
local pos_count = #tokens > 0 and #tokens or 16
local cards = tonumber(os.getenv("CARDS") or "") or 10000
local face = os.getenv("FACE") or "json"
local tenant = os.getenv("TENANT") or "bench"
local items = {
  {"g-100", "1.000", "199.90", "199.90"},
  {"g-200", "0.347", "459.00", "159.27"},
  {"g-300", "3.000", "45.50", "136.50"},
  {"g-400", "2.000", "89.99", "179.98"},
  {"g-500", "1.000", "1250.00", "1250.00"},
}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  start = os.time()
end
local function json_body(p, number, card, bonus)
  local lines = {}
  for i, item in ipairs(items) do
    lines[#lines + 1] = string.format(
      '{"line":%d,"goods":"%s","qty":%s,"price":%s,"sum":%s}', i, item[1], item[2], item[3],
      item[4])
  end
  return string.format(
    '{"pos":"pos-%d","cashier":"c-1","number":"%s","card_number":"%d"%s,"lines":[%s]}',
    p, number, card, bonus and ',"pay_bonus":10.00' or '', table.concat(lines, ","))
end
local function soap_body(number, card, bonus, fiscal)
  local lines = {}
  for i, item in ipairs(items) do
    lines[#lines + 1] = string.format(
      '<Item><PositionNumber>%d</PositionNumber><Article>%s</Article><Price>%s</Price>' ..
      '<Quantity>%s</Quantity><Summ>%s</Summ></Item>', i, item[1], item[3], item[2], item[4])
  end
  return string.format(
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope ' ..
    'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' ..
    '<ProcessRequest xmlns="http://loyalty.manzanagroup.ru/loyalty.xsd"><request>' ..
    '<ChequeRequest ChequeType="%s"><RequestID>1</RequestID><Card><CardNumber>%d' ..
    '</CardNumber></Card><Number>%s</Number><OperationType>Sale</OperationType>%s%s' ..
    '</ChequeRequest></request></ProcessRequest></soap:Body></soap:Envelope>',
    fiscal and "Fiscal" or "Soft", card, number, bonus and '<PaidByBonus>10.00</PaidByBonus>' or '',
    table.concat(lines, ""))
end
request = function()
  counter = counter + 1
  local receipt = math.floor((counter + 1) / 2)
  local fiscal = counter % 2 == 0
  local p = (receipt * 2 + tid) % pos_count + 1
  local card = (receipt * 7919 + tid * 104729) % cards
  local bonus = receipt % 2 == 0
  local number = string.format("%s%d-%d-%d", string.sub(face, 1, 1), tid, start, receipt)
  local headers = {}
  if tokens[p] then headers["Authorization"] = "Bearer " .. tokens[p] end
  if face == "soap" then
    headers["Content-Type"] = "text/xml; charset=utf-8"
    headers["SOAPAction"] = "http://loyalty.manzanagroup.ru/loyalty.xsd/ProcessRequest"
    return wrk.format("POST", "/soap/" .. tenant .. "/POSProcessing.asmx", headers,
                      soap_body(number, card, bonus, fiscal))
  end
  headers["Content-Type"] = "application/json"
  local path = fiscal and "/api/v1/receipts/commit" or "/api/v1/receipts/calculate"
  return wrk.format("POST", path, headers, json_body(p, number, card, bonus))
end
