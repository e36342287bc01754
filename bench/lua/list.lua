-- GET /api/v1/items page after page, as a client pages through a list: each request of a
-- thread passes the `next_cursor` of the thread's previous answer, and the thread starts
-- again from the first page when a listing ends (`next_cursor` null) or after MAX_PAGES
-- pages. Arguments: the page size, MAX_PAGES (0: no limit), then any number of name
-- filters, used in turn, one listing each (none: the list is not filtered).
-- The connections of a thread share its cursor, so two of them may ask for the same page.

local limit, max_pages
local filters = {}
local filter_index = 0
local cursor = nil
local pages = 0

local function url_encode(text)
   return (text:gsub("[^%w%-_%.~]", function(char)
      return string.format("%%%02X", string.byte(char))
   end))
end

local function start_listing()
   cursor = nil
   pages = 0
   if #filters > 0 then
      filter_index = filter_index % #filters + 1
   end
end

function init(args)
   limit = tonumber(args[1])
   max_pages = tonumber(args[2])
   for index = 3, #args do
      filters[#filters + 1] = args[index]
   end
   -- Threads begin with different filters, so that each is loaded from the first second.
   filter_index = (thread_number - 1) % math.max(#filters, 1)
   start_listing()
end

function request()
   local path = "/api/v1/items?limit=" .. limit
   if #filters > 0 then
      path = path .. "&name_contains=" .. url_encode(filters[filter_index])
   end
   if cursor then
      path = path .. "&cursor=" .. cursor
   end
   return wrk.format("GET", path)
end

function response(status, headers, body)
   pages = pages + 1
   local next_cursor = status == 200 and body:match('"next_cursor":%s*"([%w_%-]+)"')
   if next_cursor and (max_pages == 0 or pages < max_pages) then
      cursor = next_cursor
   else
      start_listing()
   end
end
