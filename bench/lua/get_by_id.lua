-- GET /api/v1/items/{id} with ids drawn at random from a file (one id per line).
-- Arguments: the id file. Headers given with wrk -H (e.g. authentication) are kept:
-- wrk.format uses wrk.headers when no headers are passed.

local ids = {}

function init(args)
   for line in io.lines(args[1]) do
      ids[#ids + 1] = line
   end
   math.randomseed(os.time() * 100 + thread_number)
end

function request()
   return wrk.format("GET", "/api/v1/items/" .. ids[math.random(#ids)])
end
