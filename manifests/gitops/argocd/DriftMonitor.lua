-- DriftMonitor: suspended (spec.suspend, which the operator acknowledges with Ready reason
-- Suspended) is Suspended unless something is broken. Detected drift is a finding about the
-- data, not the monitor's health: the monitor stays Healthy and the message says so.
return health(function(s)
  if is_true(s.stalled) or is_true(s.reconciling) or not is_true(s.ready) then
    return nil
  end
  if s.ready.reason == "Suspended" then
    return "Suspended", explain(s.ready)
  end
  local drift = condition("DriftDetected")
  if is_true(drift) then
    return "Healthy", "drift detected: " .. explain(drift)
  end
  return nil
end)
