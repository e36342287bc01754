-- GET /api/v1/items?limit=LIMIT&offset=N with N drawn at random so that every page of
-- the seeded rows is read. Arguments: the page size and the largest offset.

local limit, max_offset

function init(args)
   limit = tonumber(args[1])
   max_offset = tonumber(args[2])
   math.randomseed(os.time() * 100 + thread_number)
end

function request()
   local offset = math.random(0, max_offset)
   return wrk.format("GET", "/api/v1/items?limit=" .. limit .. "&offset=" .. offset)
end
