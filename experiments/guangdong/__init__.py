"""The Guangdong scenario: its calibration and its validation against known patterns.

`calibrate` tunes the scenario to the published figures of its start year
(`python -m experiments.guangdong.calibrate`); `validate` writes the validation
report (`python -m experiments.guangdong.validate`).
"""
