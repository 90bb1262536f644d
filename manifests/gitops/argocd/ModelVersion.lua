-- ModelVersion: the common rules only (common.lua). Its spec is immutable, so a failed
-- verification stays Degraded until the object is replaced.
return health(nil)
