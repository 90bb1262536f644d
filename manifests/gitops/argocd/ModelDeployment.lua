-- ModelDeployment: a rollout waiting for a person is Suspended — paused by hand (spec.paused),
-- after failed analysis with onFailure: pause, for a DriftMonitor's drift, or awaiting a manual
-- promotion; a rolled-back candidate is Degraded until the spec names another one.
return health(function(s)
  local state = obj.status.rolloutState
  if state == "RolledBack" then
    return "Degraded", explain(s.stalled or s.ready)
  end
  if state == "Paused" then
    return "Suspended", explain(s.stalled or s.reconciling or s.ready)
  end
  if is_true(s.reconciling)
      and (s.reconciling.reason == "CanaryPaused" or s.reconciling.reason == "AwaitingPromotion") then
    return "Suspended", explain(s.reconciling)
  end
  return nil
end)
