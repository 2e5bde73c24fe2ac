"""The agents: enterprises, governments, universities and platforms, and their rules.

This layer sits below the model: it holds the tables the rules read and write
(`tables`, `rates`), the `World` protocol that lists what a behaviour may use,
one module per kind of agent (its rules, behaviours and Mesa class), and one per
mechanism the kinds share (`ties` and `partners`, `economy`, `demography`,
`systems`, `sampling`). It imports nothing of `model`.
"""

from agents.enterprise import Enterprise
from agents.government import Government
from agents.platform import Platform
from agents.university import University

__all__ = ["Enterprise", "Government", "Platform", "University"]
