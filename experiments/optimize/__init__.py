"""Robust policy search: many-objective optimisation of the levers.

A search file (`search_file`) names the levers to tune, the uncertainties that
make the scenarios, the seeds and the objectives, each with a robustness measure
(`robustness`). `problem` turns it into runs the sweep machinery can execute and
store; `search` drives pymoo generation by generation over those runs, so a killed
search resumes from its stored runs; `front` reports the Pareto front as a table,
a chart and words.
"""
