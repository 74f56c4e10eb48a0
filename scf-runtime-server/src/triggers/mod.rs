//! Triggers: API gateway, Function URL, timers and web functions, all feeding the invoke path.
