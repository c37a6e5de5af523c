-- wrk script for scripts/prove/store_bench.sh: v1 connects only (each one a read-merge-write
-- transaction), over 1000 users with a bounded set of device ids each.
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/manufacturers/nox", {
    ["x-api-key"] = "manufacturer-key-acme",
    ["content-type"] = "application/json",
  }, '{"manufacturer_user_id":"mfr-' .. (counter % 1000) .. '","device_ids":["d' .. (counter % 7) .. '"]}')
end
dofile(os.getenv("NOX_WRK_REPORT"))
