-- flip_flop.lua — benchmark fixture for the runner's state machine: every bar
-- goes Watch -> CloseWatch (a setup) -> Watch (abandoned), two transitions a bar
-- and no orders, so transitions per second measure the state machine, the
-- action encoding and the callbacks, nothing else.
function detect_opportunity(bar, ctx, ind) return { reason = "setup" } end
function filter_commitment(bar, ctx, ind) return abandon end
function manage_position(bar, ctx, ind) end
