-- lua/dql.lua — the parts of the `dql` Lua module written in Lua.
--
-- Compiled into the binary by tools/lua2c.sh and run by dql_lua_new() with
-- the module table (already holding the C functions run, rows, set, get,
-- param) as its argument. Adds helpers for driver scripts and UDF files.

local dql = ...

local type, pairs, ipairs, tostring, tonumber, select = type, pairs, ipairs, tostring, tonumber, select
local concat, sort, format = table.concat, table.sort, string.format

dql.version = dql._VERSION or "0.1"

-- dql.rows_table(alias) -> array of rows (each a table keyed by field name).
function dql.rows_table(alias)
  local t, n = {}, 0
  for row in dql.rows(alias) do
    n = n + 1
    t[n] = row
  end
  return t
end

-- dql.each(alias, f): calls f(row) for each row of alias; stops early when
-- f returns false. Returns the number of rows seen.
function dql.each(alias, f)
  local n = 0
  for row in dql.rows(alias) do
    n = n + 1
    if f(row) == false then break end
  end
  return n
end

-- Keys in a stable order: 1..len first (len is the `n` field tuples carry,
-- else #t), then the other keys sorted by type and value.
local function sorted_keys(t)
  local len = t.n
  if math.type(len) ~= "integer" or len < 0 then len = #t end
  local keys, n = {}, 0
  for k in pairs(t) do
    if not (math.type(k) == "integer" and k >= 1 and k <= len) then
      n = n + 1
      keys[n] = k
    end
  end
  sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys, len
end

local function is_ident(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil
end

local function repr(v, indent, seen, out)
  local tv = type(v)
  if tv == "string" then
    out[#out + 1] = format("%q", v):gsub("\\\n", "\\n")
  elseif tv == "number" then
    if math.type(v) == "integer" then
      out[#out + 1] = tostring(v)
    elseif v ~= v then
      out[#out + 1] = "nan"
    elseif v == math.huge or v == -math.huge then
      out[#out + 1] = v > 0 and "inf" or "-inf"
    else
      local s = format("%.15g", v)
      if tonumber(s) ~= v then s = format("%.16g", v) end
      if tonumber(s) ~= v then s = format("%.17g", v) end
      out[#out + 1] = s
      if not out[#out]:find("[eEn%.]") then
        out[#out] = out[#out] .. ".0"
      end
    end
  elseif tv ~= "table" then
    out[#out + 1] = tostring(v)
  elseif seen[v] then
    out[#out + 1] = "<cycle>"
  else
    seen[v] = true
    local keys, len = sorted_keys(v)
    if len == 0 and #keys == 0 then
      out[#out + 1] = "{}"
    else
      local inner = indent .. "  "
      local items = {}
      for i = 1, len do
        local o = {}
        repr(v[i], inner, seen, o)
        items[#items + 1] = concat(o)
      end
      for _, k in ipairs(keys) do
        local o = {}
        if is_ident(k) then
          o[1] = k .. " = "
        else
          o[1] = "["
          repr(k, inner, seen, o)
          o[#o + 1] = "] = "
        end
        repr(v[k], inner, seen, o)
        items[#items + 1] = concat(o)
      end
      local flat = "{ " .. concat(items, ", ") .. " }"
      if #flat <= 72 and not flat:find("\n") then
        out[#out + 1] = flat
      else
        out[#out + 1] = "{\n" .. inner .. concat(items, ",\n" .. inner) .. "\n" .. indent .. "}"
      end
    end
    seen[v] = nil
  end
end

-- dql.repr(value) -> string: a readable, Lua-like rendering of any value
-- (tables recursively, keys sorted, cycles marked).
function dql.repr(v)
  local out = {}
  repr(v, "", {}, out)
  return concat(out)
end

-- dql.pp(...): prints each argument rendered with dql.repr on its own line.
function dql.pp(...)
  for i = 1, select("#", ...) do
    io.write(dql.repr((select(i, ...))), "\n")
  end
end

return dql
