-- udf.lua — Lua functions for udf.dql: simple lexical features of a domain
-- label, the kind used by string-based DGA detectors. REGISTER 'udf.lua'
-- AS lex; makes every global function here callable as lex.name(...).
-- Arguments arrive as Lua strings (domain and chararray values) or nil.

local vowels = { a = true, e = true, i = true, o = true, u = true }

-- The share of the letters of s that are vowels (nil when s has no letters).
function vowel_ratio(s)
  if s == nil then return nil end
  local letters, v = 0, 0
  for c in s:gmatch("%a") do
    letters = letters + 1
    if vowels[c:lower()] then v = v + 1 end
  end
  if letters == 0 then return nil end
  return v / letters
end

-- The length of the longest run of consonants in s.
function consonant_run(s)
  if s == nil then return nil end
  local best, run = 0, 0
  for c in s:gmatch(".") do
    if c:match("%a") and not vowels[c:lower()] then
      run = run + 1
      if run > best then best = run end
    else
      run = 0
    end
  end
  return best
end

-- Letters, digits and hyphens of s, as a tuple (letters, digits, hyphens).
function char_mix(s)
  if s == nil then return nil end
  local _, l = s:gsub("%a", "")
  local _, d = s:gsub("%d", "")
  local _, h = s:gsub("%-", "")
  return { l, d, h, n = 3 }
end

-- A verdict from the features: 'dga' or 'benign'. Long labels with few
-- vowels or long consonant runs, or with many digits, look generated.
function verdict(label)
  if label == nil then return nil end
  local len = #label
  local vr = vowel_ratio(label) or 0
  local run = consonant_run(label)
  local _, digits = label:gsub("%d", "")
  if len >= 12 and (vr < 0.3 or run >= 5) then return "dga" end
  if len >= 10 and digits >= 3 then return "dga" end
  if len >= 16 then return "dga" end
  return "benign"
end
