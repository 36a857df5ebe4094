-- The relay's tail read (ccs_committed_changes) runs hundreds of times a second with one generic
-- plan, whose cost estimate grows with change_log (it must assume `xid >= $2` keeps a third of
-- the table). Past jit_above_cost (100,000 by default: about a million rows) PostgreSQL compiled
-- the read with LLVM on every call, 15-40 ms each, for a read of a few rows: in the delivery
-- bench the relay fell from ~470 reads a second to ~30, PostgreSQL spent 0.9 cores and delivery
-- p50 went from 3 to 45 ms, until the end of the run. Compiling never pays for this read.
ALTER FUNCTION ccs_committed_changes(xid8[], xid8, xid8[], text[], bigint[], integer) SET jit = off;
