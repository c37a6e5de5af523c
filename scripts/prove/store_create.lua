-- wrk script for scripts/prove/store_bench.sh: v2 supplier creates only (each one an insert).
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v2/supplier/link-sessions", {
    ["x-api-key"] = "supplier-key-acme",
    ["content-type"] = "application/json",
  }, '{"user_id":"user-' .. (counter % 1000) .. '","redirect_url":"https://your-app.com/callback","asset_type":"hp"}')
end
dofile(os.getenv("NOX_WRK_REPORT"))
