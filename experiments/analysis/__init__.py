"""Sweep analysis, one module per method as in SALib.

`results` reads a sweep's folder into tables; `sobol`, `morris` and `pawn`
compute sensitivity indices with replication-aware intervals; `factorial` ranks
design points and main effects; `charts` draws; `ema` exports for the EMA
Workbench; `report` puts it together (`townsim analyze`).
"""
