-- Organization: the common rules only (common.lua).
return health(nil)
