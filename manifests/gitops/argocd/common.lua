-- Argo CD health of a modelplane.io object, read from the status the operator writes: conditions
-- Ready / Reconciling / Stalled (Reconciling and Stalled present only while true) and
-- status.observedGeneration (docs/operations.md, "Argo CD"). Argo CD wants one self-contained
-- script per kind: `modelplane generate` writes argocd-cm.yaml with this file followed by the
-- kind's own <Kind>.lua for each kind. Edit these files, then regenerate.

local function condition(name)
  for _, c in ipairs(obj.status.conditions or {}) do
    if c.type == name then
      return c
    end
  end
  return nil
end

local function is_true(c)
  return c ~= nil and c.status == "True"
end

local function explain(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end

-- health(rules): the kind's `rules(s)` may decide first (return status, message), once the
-- operator has acted on the current generation; s holds ready, reconciling, stalled and
-- generation. Otherwise: Stalled → Degraded, Reconciling → Progressing, Ready True → Healthy,
-- Ready False → Degraded, anything else → Progressing.
local function health(rules)
  local hs = {status = "Progressing", message = "Waiting for the operator to report a status"}
  if obj.status == nil or obj.status.observedGeneration == nil then
    return hs
  end
  local generation = obj.metadata.generation or 1
  if obj.status.observedGeneration < generation then
    hs.message = "Waiting for the operator to act on generation " .. generation
    return hs
  end
  local s = {
    ready = condition("Ready"),
    reconciling = condition("Reconciling"),
    stalled = condition("Stalled"),
    generation = generation,
  }
  if rules ~= nil then
    local status, message = rules(s)
    if status ~= nil then
      hs.status, hs.message = status, message
      return hs
    end
  end
  if is_true(s.stalled) then
    hs.status, hs.message = "Degraded", explain(s.stalled)
  elseif is_true(s.reconciling) then
    hs.message = explain(s.reconciling)
  elseif s.ready == nil or (s.ready.observedGeneration or generation) < generation then
    hs.message = "Waiting for the operator to report Ready for generation " .. generation
  else
    hs.message = explain(s.ready)
    if s.ready.status == "True" then
      hs.status = "Healthy"
    elseif s.ready.status == "False" then
      hs.status = "Degraded"
    end
  end
  return hs
end

