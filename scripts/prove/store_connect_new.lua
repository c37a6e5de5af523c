-- wrk script for scripts/prove/store_bench.sh: v1 connects of users never seen before (each one
-- an insert of a new subscriber), unique per thread and run.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local counter = 0
local prefix
init = function()
  prefix = "new-" .. os.time() .. "-" .. id .. "-"
end
request = function()
  counter = counter + 1
  return wrk.format("POST", "/manufacturers/nox", {
    ["x-api-key"] = "manufacturer-key-acme",
    ["content-type"] = "application/json",
  }, '{"manufacturer_user_id":"' .. prefix .. counter .. '","device_ids":["d1","d2"]}')
end
dofile(os.getenv("NOX_WRK_REPORT"))
