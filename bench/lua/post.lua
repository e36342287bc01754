-- POST /api/v1/items with a name no other request of the whole benchmark uses
-- (names are unique in the table). Argument: a prefix unique to this wrk run.

local prefix
local sent = 0

function init(args)
   prefix = args[1] .. "-" .. thread_number .. "-"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   sent = sent + 1
   local body = string.format('{"name": "%s%d", "quantity": 1}', prefix, sent)
   return wrk.format("POST", "/api/v1/items", nil, body)
end
