"""The sweep engine: experiment files, designs, running many runs, their outcomes.

An experiment file is read and checked (`experiment_file`), planned into design
points and seeds (`plan`, `samplers`), run by worker processes (`worker`) that a
driver keeps busy (`driver`), and stored one file per run (`results_store`).
`outcomes` says what a run of the town model measures; `toys` holds function
models with known answers.
"""
