-- wrk script for scripts/prove/load.sh: cycles through the four endpoints with valid requests.
-- v1 connect uses 100 distinct manufacturer user ids, so subscribers stay bounded while
-- sessions are created (and must be evicted) on every other request.
local counter = 0
local supplier = "supplier-key-acme"
local manufacturer = "manufacturer-key-acme"

local function post(path, key, body)
  return wrk.format("POST", path, {
    ["x-api-key"] = key,
    ["content-type"] = "application/json",
  }, body)
end

request = function()
  counter = counter + 1
  local n = counter % 4
  local user = "user-" .. (counter % 1000)
  if n == 0 then
    return post("/v2/supplier/link-sessions", supplier,
      '{"user_id":"' .. user .. '","redirect_url":"https://your-app.com/callback","asset_type":"hp","brand":"alpha innotec","language":"fr"}')
  elseif n == 1 then
    return post("/v2/manufacturer/link-sessions", manufacturer,
      '{"user_id":"' .. user .. '","redirect_url":"https://your-app.com/callback"}')
  elseif n == 2 then
    return post("/users/" .. user .. "/link", supplier,
      '{"redirect_uri":"https://your-app.com/callback","brand":"daikin"}')
  else
    return post("/manufacturers/nox", manufacturer,
      '{"manufacturer_user_id":"mfr-' .. (counter % 100) .. '","device_ids":["d1","d2"]}')
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"rps":%.0f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status))
end
