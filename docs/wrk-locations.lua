-- wrk script: GET /v1/locations nearest 10 from origins spread over
-- southern and central Finland (deterministic), for docs/benchmarks.md.
local paths = {}
math.randomseed(1)
for i = 1, 1024 do
  local lat = 60 + math.random() * 5
  local lon = 21.5 + math.random() * 7
  paths[i] = string.format("/v1/locations?lat=%.5f&lon=%.5f&limit=10", lat, lon)
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
